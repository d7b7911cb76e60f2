"""Evaluation protocol of the logs benchmark: chronological split, calibrated threshold, P/R/F1/AUPRC.

Fit on the normal sessions of the training part, calibrate on the validation part's normal sessions
(conformal p-values, flag ``p <= alpha``; with fewer than ``1/alpha`` validation sessions the level is
the smallest attainable p-value, i.e. above every validation score), score the test part at its
natural anomaly rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from services.core.calibration import ConformalCalibrator, decide
from services.logs.data import LogDataset

__all__ = ["DEFAULT_ALPHA", "evaluate_method", "metrics"]

DEFAULT_ALPHA = 0.002


def metrics(labels: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of ``flags`` and AUPRC of ``scores`` against 0/1 ``labels`` ``(n,)``."""
    from sklearn.metrics import average_precision_score

    y, flags = labels.astype(bool), flags.astype(bool)
    tp = float((y & flags).sum())
    precision = tp / max(float(flags.sum()), 1.0)
    recall = tp / max(float(y.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    auprc = float(average_precision_score(y, scores)) if y.any() else float("nan")
    return {"precision": precision, "recall": recall, "f1": f1, "auprc": auprc}


def evaluate_method(
    fit: Callable[[np.ndarray], Any], score: Callable[[Any, np.ndarray], np.ndarray], dataset: LogDataset,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, float]:
    """Metrics (and fit / score seconds) of one method on one data set under the protocol above."""
    train, validation, test = dataset.split()
    started = time.perf_counter()
    model = fit(train.normal())
    fitted = time.perf_counter()
    calibrator = ConformalCalibrator().fit(score(model, validation.normal()))
    scored = time.perf_counter()
    test_scores = np.asarray(score(model, test.sessions), dtype=np.float64)
    lines = sum(len(s.split("\n")) for s in test.sessions)
    seconds = time.perf_counter() - scored
    level = max(alpha, 1.0 / (calibrator.size + 1))  # never below the smallest attainable p-value
    flags = decide(calibrator.p_values(test_scores), "alpha", level).anomalous
    return {**metrics(test.labels, test_scores, flags), "fit_s": fitted - started,
            "lines_per_s": lines / max(seconds, 1e-9), "test_sessions": float(len(test.sessions)),
            "test_anomalies": float(test.labels.sum())}
