"""Train on earlier snapshots, score later ones: AUROC / AUPRC overall and on the unseen anomaly type alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from services.graph.batch import GraphBatch, union
from services.graph.data import DynamicGraph

__all__ = ["VARIANTS", "calibration_split", "detection_metrics", "evaluate_scores", "run_variant", "training_data"]

VARIANTS: dict[str, dict[str, Any]] = {
    "full framework": {},
    "no diffusion": {"use_diffusion": False},
    "uniform (no curriculum)": {"curriculum": "uniform"},
}
"""Ablations of the ego-diffusion detector: configuration overrides per row."""


def calibration_split(batch: GraphBatch, fraction: float, seed: int) -> tuple[GraphBatch, GraphBatch]:
    """(fit batch, calibration batch): a ``fraction`` of the labelled normal targets is held out of fit."""
    rng = np.random.default_rng(seed)
    targets = batch.target_nodes
    normals = targets[batch.y[targets] == 0] if batch.y is not None else targets
    held = np.sort(rng.choice(normals, size=max(1, round(fraction * len(normals))), replace=False))
    keep = targets[~np.isin(targets, held)]
    return replace(batch, targets=keep), replace(batch, targets=held, y=None)


def training_data(data: DynamicGraph, fraction: float = 0.2, seed: int = 0) -> tuple[GraphBatch, GraphBatch]:
    """The training snapshots as one packed batch, split into (fit, calibration)."""
    return calibration_split(union([data.snapshots[i] for i in data.train]), fraction, seed)


def detection_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(AUROC, AUPRC) of binary ``labels`` ``(n,)`` against ``scores`` ``(n,)``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def evaluate_scores(types: np.ndarray, scores: np.ndarray, unseen: tuple[int, ...]) -> dict[str, float]:
    """Metrics overall and on normals + unseen-type anomalies only (other anomalies left out)."""
    auroc, auprc = detection_metrics(types > 0, scores)
    keep = (types == 0) | np.isin(types, unseen)
    u_auroc, u_auprc = detection_metrics(np.isin(types[keep], unseen), scores[keep])
    return {"auroc": auroc, "auprc": auprc, "unseen_auroc": u_auroc, "unseen_auprc": u_auprc,
            "anomaly_rate": float((types > 0).mean())}


def _test_arrays(data: DynamicGraph, score: Callable[[GraphBatch], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    types, scores = [], []
    for index in data.test:
        snapshot = data.snapshots[index]
        types.append(snapshot.y.astype(np.int64))
        scores.append(score(replace(snapshot, y=None)))
    return np.concatenate(types), np.concatenate(scores)


def run_variant(data: DynamicGraph, overrides: dict[str, Any], seed: int = 0) -> dict[str, float]:
    """Fit the ego-diffusion detector with ``overrides`` on the train snapshots; metrics on the test snapshots."""
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    fit, _ = training_data(data, seed=seed)
    detector = EgoDiffusionDetector({"seed": seed, **overrides})
    started = time.perf_counter()
    detector.fit(fit)
    fit_s = time.perf_counter() - started
    types, scores = _test_arrays(data, detector.score)
    return {**evaluate_scores(types, scores, data.unseen_types), "fit_s": fit_s}


def run_unsupervised(data: DynamicGraph, score: Callable[[GraphBatch], np.ndarray]) -> dict[str, float]:
    """Metrics of a detector that is fitted on each test snapshot itself (``score`` does both)."""
    started = time.perf_counter()
    types, scores = _test_arrays(data, score)
    return {**evaluate_scores(types, scores, data.unseen_types), "fit_s": time.perf_counter() - started}
