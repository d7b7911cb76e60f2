"""Held-out evaluation shared by ``polyad eval vision`` and ``bench/vision.py``: fit on normal, score unseen."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from services.vision import data, metrics

__all__ = ["evaluate_detector", "metrics_row"]


def metrics_row(labels: np.ndarray, scores: np.ndarray, masks: np.ndarray, maps: np.ndarray) -> dict[str, float]:
    """Image AUROC, pixel AUROC and AUPRO (FPR ≤ 0.3, normalised) for one test set."""
    return {
        "image_auroc": metrics.image_auroc(labels, scores),
        "pixel_auroc": metrics.pixel_auroc(masks, maps),
        "aupro": metrics.aupro(masks, maps),
    }


def evaluate_detector(detector: Any, dataset: data.ImageDataset, batch_size: int = 8) -> dict[str, float]:
    """Fit ``detector`` on ``dataset.train_images`` (normal only), score the unseen test crops."""
    started = time.perf_counter()
    detector.fit(dataset.train_images)
    fit_s = time.perf_counter() - started
    scores, maps = [], []
    started = time.perf_counter()
    for i in range(0, len(dataset.test_images), batch_size):
        batch_scores, batch_maps = detector.score_and_explain(dataset.test_images[i : i + batch_size])
        scores.append(batch_scores)
        maps.append(batch_maps)
    score_s = time.perf_counter() - started
    row = metrics_row(dataset.test_labels, np.concatenate(scores), dataset.test_masks, np.concatenate(maps))
    return {**row, "fit_s": fit_s, "ms_per_image": 1000 * score_s / len(dataset.test_images)}
