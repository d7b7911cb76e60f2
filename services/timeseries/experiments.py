"""Held-out evaluation shared by ``polyad eval timeseries`` and ``bench/``: fit on train, score test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from services.timeseries import data, evaluation

__all__ = ["DATASETS", "comet_factory", "evaluate_detector", "metrics_row"]

DATASETS: dict[str, Callable[..., data.LabelledSeries]] = {
    "aeon KDD-TSAD 135 (UCR)": lambda seed=0: data.load_aeon_kdd135().held_out(),
    "aeon ECG (ecg-diff-count-3)": lambda seed=0: data.load_aeon_ecg().held_out(),
    "generated multivariate (5 ch)": lambda seed=0: data.generate_multivariate(
        n_train=6000, n_test=6000, n_channels=5, seed=7 + seed
    ),
}
"""Name -> ``load(seed=0)``: the real series are fixed (a seed varies only the models); the generated
one is drawn anew per seed."""


def comet_factory(quick: bool = False, seed: int = 0) -> Callable[[], Any]:
    """A function making a fresh COMET detector (smaller with ``quick``) with model seed ``seed``."""
    from services.timeseries.detectors.comet import CometDetector

    overrides = {"train_steps": 80, "memory_size": 256} if quick else {}
    return lambda: CometDetector(overrides, seed=seed)


def metrics_row(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The headline metrics: VUS-PR, VUS-ROC, range F1, raw point F1 and AUROC."""
    return {
        "vus_pr": evaluation.vus_pr(labels, scores),
        "vus_roc": evaluation.vus_roc(labels, scores),
        "range_f1": evaluation.range_f1(labels, scores),
        "point_f1": evaluation.point_f1(labels, scores),
        "auroc": evaluation.auroc(labels, scores),
    }


def evaluate_detector(factory: Callable[[], Any], series: data.LabelledSeries) -> dict[str, float]:
    """Fit a new detector on ``series.train`` (normal), score the held-out test part, compute metrics."""
    series = series.held_out()
    detector = factory()
    started = time.perf_counter()
    detector.fit(series.train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = detector.score(series.test)
    score_s = time.perf_counter() - started
    return {**metrics_row(series.test_labels, scores), "fit_s": fit_s, "score_s": score_s}
