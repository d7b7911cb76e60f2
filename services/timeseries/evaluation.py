"""Time-series anomaly-detection metrics: labels ``(T,)`` in {0, 1}, scores ``(T,)`` (higher = anomalous).

Point metrics (AUROC, AUPRC, raw best F1 with no point adjustment), range-based F1 (Tatbul et
al. 2018) and VUS-ROC / VUS-PR (Paparrizos et al. 2022). VUS averages over buffer lengths
0 .. 2 * sliding_window, as the original VUS package does; TSB-AD 1.5's ``get_metrics(slidingWindow=W)``
averages over 0 .. W, so ours with ``sliding_window=W`` equals TSB-AD's with ``slidingWindow=2W``
(checked to 1e-16 by ``bench/timeseries_accuracy.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "auprc",
    "auroc",
    "point_f1",
    "point_f1_at",
    "range_f1",
    "range_f1_at",
    "range_precision_recall",
    "vus_pr",
    "vus_roc",
]


def _check(labels: np.ndarray, values: np.ndarray, what: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    labels, values = np.asarray(labels).ravel(), np.asarray(values, np.float64).ravel()
    if labels.shape != values.shape or labels.size == 0:
        raise ValueError(
            f"expected labels and {what} of the same non-zero length, got {labels.shape}, {values.shape}"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("expected labels in {0, 1}")
    if not np.isfinite(values).all():
        raise ValueError(f"expected finite {what}")
    return labels.astype(np.int64), values


def _ranges(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of ones: (starts, ends) with ``ends`` exclusive."""
    edges = np.diff(np.concatenate([[0], binary.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(*_check(labels, scores)))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn)."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(*_check(labels, scores)))


def point_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    """Best point-wise F1 over all thresholds, raw (no point adjustment)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(*_check(labels, scores))
    denom = precision + recall
    return float(np.max(np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)))


def point_f1_at(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Point-wise F1 of binary ``predictions``."""
    labels, pred = _check(labels, predictions, "predictions")
    tp, n_pred, n_true = float((pred * labels).sum()), float(pred.sum()), float(labels.sum())
    return 2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0


def _range_pr_rows(labels: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Range precision / recall for each row of boolean ``preds`` ``(n, T)`` (vectorised)."""
    n, t = preds.shape
    starts, ends = _ranges(labels)
    cum = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(preds, 1)], 1)
    recall = ((cum[:, ends] - cum[:, starts]) / (ends - starts)).mean(1) if len(starts) else np.zeros(n)
    flat = np.concatenate([preds, np.zeros((n, 1), bool)], 1).ravel()  # a False column splits rows
    first = flat & ~np.concatenate([[False], flat[:-1]])
    run = (np.cumsum(first) - 1)[flat]
    hits = np.bincount(run, weights=np.tile(np.append(labels, 0), n)[flat])
    ratio = hits / np.bincount(run)
    row = np.flatnonzero(first) // (t + 1)
    n_runs = np.bincount(row, minlength=n)
    precision = np.bincount(row, weights=ratio, minlength=n) / np.maximum(n_runs, 1)
    return precision, recall


def range_precision_recall(labels: np.ndarray, predictions: np.ndarray) -> tuple[float, float]:
    """Range-based precision and recall (Tatbul et al. 2018) with alpha = 0, flat bias, gamma = 1.

    ``recall = mean_i |R_i ∩ P| / |R_i|`` over real ranges ``R_i`` and ``precision = mean_j
    |P_j ∩ R| / |P_j|`` over predicted ranges ``P_j`` (0 when nothing is predicted).
    """
    labels, pred = _check(labels, predictions, "predictions")
    precision, recall = _range_pr_rows(labels, pred[None].astype(bool))
    return float(precision[0]), float(recall[0])


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    denom = precision + recall
    return np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)


def range_f1_at(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Range-based F1 of binary ``predictions`` (see :func:`range_precision_recall`)."""
    precision, recall = range_precision_recall(labels, predictions)
    return float(_f1(np.array(precision), np.array(recall)))


def range_f1(labels: np.ndarray, scores: np.ndarray, max_thresholds: int = 1000) -> float:
    """Best range-based F1 over thresholds ``scores >= thr``.

    Every distinct score is tried when there are at most ``max_thresholds`` of them, else
    ``max_thresholds`` evenly spaced score quantiles.
    """
    labels, scores = _check(labels, scores)
    thresholds = np.unique(scores)
    if len(thresholds) > max_thresholds:
        thresholds = np.unique(np.quantile(scores, np.linspace(0, 1, max_thresholds)))
    step = max(1, 4_000_000 // len(scores))
    best = 0.0
    for i in range(0, len(thresholds), step):
        preds = scores[None] >= thresholds[i : i + step, None]
        best = max(best, float(_f1(*_range_pr_rows(labels, preds)).max()))
    return best


def _merged_segments(
    starts: np.ndarray, ends: np.ndarray, half: int, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """TSB-AD ``new_sequence``: ranges extended by ``half`` each side, merged; inclusive bounds."""
    last = ends - 1
    split = np.flatnonzero(last[:-1] + half < starts[1:] - half)
    a = np.concatenate([[max(starts[0] - half, 0)], starts[split + 1] - half])
    b = np.concatenate([last[split] + half, [min(last[-1] + half, t - 1)]])
    return a, b


def _soft_labels(labels: np.ndarray, starts: np.ndarray, ends: np.ndarray, buffer: int) -> np.ndarray:
    """TSB-AD ``sequencing``: 1 on anomalies, ``sqrt(1 - dist / buffer)`` up to ``buffer // 2`` away."""
    soft, t, half = labels.astype(np.float64), len(labels), buffer // 2
    for s, e in zip(starts, ends - 1, strict=True):
        after, before = np.arange(e + 1, min(e + half + 1, t)), np.arange(max(s - half, 0), s)
        soft[after] += np.sqrt(1 - (after - e) / buffer)
        soft[before] += np.sqrt(1 - (s - before) / buffer)
    return np.minimum(soft, 1.0)


def _vus(
    labels: np.ndarray, scores: np.ndarray, sliding_window: int, n_thresholds: int
) -> tuple[float, float]:
    """(VUS-ROC, VUS-PR). Buffer lengths ``l = 0 .. 2 * sliding_window`` (the VUS package's convention).

    For each ``l``: soft labels ``y_l`` (1 on anomalies, ``sqrt(1 - d / l)`` at distance ``d <= l // 2``
    outside them) and ``n_thresholds`` thresholds, the scores at evenly spaced ranks from the top.
    At threshold ``j`` with predictions ``p``: ``TP = sum_anomalies p + sum_buffer y_l p``,
    ``P_l = P + sum_buffer y_l p / 2``, ``TPR = min(TP / P_l, 1) * existence`` (the share of merged
    extended ranges with any prediction), ``FPR = (sum p - TP) / (T - P_l)``, ``Prec = TP / sum p``.
    ``AUC-ROC_l`` is the trapezoid over (0, 0), the thresholds, (1, 1); ``AP_l = sum_j (TPR_j -
    TPR_{j-1}) Prec_j`` with ``TPR_0 = 0``. VUS is the mean over ``l`` of each.
    """
    labels, scores = _check(labels, scores)
    if not labels.any():
        raise ValueError("VUS needs at least one anomalous point in labels")
    t, n_true, max_buffer = len(labels), float(labels.sum()), 2 * sliding_window
    starts, ends = _ranges(labels)
    thresholds = np.sort(scores)[::-1][np.linspace(0, t - 1, n_thresholds).astype(int)]
    n_pred = t - np.searchsorted(np.sort(scores), thresholds, side="left")
    lo, hi = _merged_segments(starts, ends, max_buffer // 2, t)
    cols = np.concatenate([np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)])
    pred = (scores[cols][None] >= thresholds[:, None]).astype(np.float64)  # (n_thr, R)
    cum = np.concatenate([np.zeros((n_thresholds, 1)), np.cumsum(pred, 1)], 1)
    anomaly = labels[cols].astype(np.float64)
    tp_anomaly = pred @ anomaly
    roc, ap = [], []
    for buffer in range(max_buffer + 1):
        buffer_tp = pred @ (_soft_labels(labels, starts, ends, buffer)[cols] * (1 - anomaly))
        tp, p_new = tp_anomaly + buffer_tp, n_true + buffer_tp / 2
        a, b = _merged_segments(starts, ends, buffer // 2, t)
        hit = cum[:, np.searchsorted(cols, b, side="right")] - cum[:, np.searchsorted(cols, a)] > 0
        tpr = np.minimum(tp / p_new, 1.0) * hit.mean(1)
        fpr, precision = (n_pred - tp) / (t - p_new), tp / n_pred
        x, y = np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])
        roc.append(float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2)))
        ap.append(float(np.sum(np.diff(np.concatenate([[0.0], tpr])) * precision)))
    return float(np.mean(roc)), float(np.mean(ap))


def vus_roc(
    labels: np.ndarray, scores: np.ndarray, sliding_window: int = 100, n_thresholds: int = 250
) -> float:
    """Volume under the range-ROC surface (Paparrizos et al. 2022); see :func:`_vus` for the formula."""
    return _vus(labels, scores, sliding_window, n_thresholds)[0]


def vus_pr(
    labels: np.ndarray, scores: np.ndarray, sliding_window: int = 100, n_thresholds: int = 250
) -> float:
    """Volume under the range-PR surface (TSB-AD's headline metric); see :func:`_vus` for the formula."""
    return _vus(labels, scores, sliding_window, n_thresholds)[1]
