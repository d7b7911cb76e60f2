"""Image AUROC, pixel AUROC and AUPRO (the MVTec AD protocol), exact and vectorised.

All three sort the scores once and sweep every distinct score as a threshold (ties move together), so
the ROC/PRO curves are exact; 100 maps of 256x256 evaluate in about a second.

AUPRO follows Bergmann et al. (MVTec AD, IJCV 2021) and its reference code: every connected component
(8-connectivity) of every ground-truth mask is one region; at each threshold the PRO is the mean over all
regions of the fraction of the region's pixels above the threshold, the FPR is the fraction of normal
pixels (over all images) above it; the PRO-vs-FPR curve is integrated with the trapezoid rule up to
``fpr_limit`` (interpolating at the limit) and divided by ``fpr_limit``, so a perfect map scores 1.0.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["aupro", "image_auroc", "pixel_auroc", "pro_curve"]


def _curve(
    scores: np.ndarray, x_weights: np.ndarray, y_weights: np.ndarray, x_total: float, y_total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (x, y) weight sums over ``*_total``, thresholding at each distinct score from high to low.

    Returns curves of length ``n_distinct + 1`` starting at (0, 0). Integer weights sum exactly.
    """
    order = np.argsort(scores)[::-1]  # order within ties is irrelevant: only run ends are kept
    s = scores[order]
    x = np.cumsum(x_weights[order])
    y = np.cumsum(y_weights[order])
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]  # last index of each run of tied scores
    return np.r_[0.0, x[last] / x_total], np.r_[0.0, y[last] / y_total]


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos = labels.astype(bool).ravel()
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUROC needs both classes; got {n_pos} positives and {n_neg} negatives")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    fpr, tpr = _curve(np.asarray(scores).ravel(), (~pos).astype(np.int64), pos.astype(np.int64), n_neg, n_pos)
    return float(np.trapezoid(tpr, fpr))


def image_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUROC of image scores ``(N,)`` against labels ``(N,)`` (1 = anomalous); ties count one half."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels and scores must both be (N,), got {labels.shape} and {scores.shape}")
    return _auroc(labels, scores)


def _check_maps(masks: np.ndarray, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    masks, maps = np.asarray(masks).astype(bool), np.asarray(maps)
    if not np.issubdtype(maps.dtype, np.floating):
        maps = maps.astype(np.float64)
    if not np.isfinite(maps).all():
        raise ValueError("anomaly maps contain NaN or infinite values")
    if masks.ndim == 2:
        masks, maps = masks[None], maps[None]
    if masks.shape != maps.shape or masks.ndim != 3:
        raise ValueError(f"masks and maps must both be (N, H, W), got {masks.shape} and {maps.shape}")
    return masks, maps


def pixel_auroc(masks: np.ndarray, maps: np.ndarray) -> float:
    """AUROC over all pixels of anomaly ``maps (N, H, W)`` against boolean ground-truth ``masks (N, H, W)``."""
    masks, maps = _check_maps(masks, maps)
    return _auroc(masks, maps)


def pro_curve(masks: np.ndarray, maps: np.ndarray, num_thresholds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, mean PRO) at every distinct threshold, from the highest score down; both ``(T + 1,)``, from (0, 0).

    ``num_thresholds`` quantises the scores onto that many evenly spaced thresholds between the map minimum
    and maximum (a threshold sweep, as anomalib does); ``None`` uses every distinct score (exact).
    """
    masks, maps = _check_maps(masks, maps)
    structure = np.ones((3, 3), dtype=int)
    weights = np.zeros(masks.shape, dtype=np.float64)
    n_regions = 0
    for i in range(masks.shape[0]):
        if not masks[i].any():
            continue
        comp, n = ndimage.label(masks[i], structure=structure)
        sizes = np.bincount(comp.ravel(), minlength=n + 1).astype(np.float64)
        inv = np.zeros_like(sizes)
        inv[1:] = 1.0 / sizes[1:]
        weights[i] = inv[comp]
        n_regions += n
    n_normal = int((~masks).sum())
    if n_regions == 0 or n_normal == 0:
        raise ValueError(f"AUPRO needs anomalous and normal pixels; got {n_regions} regions, {n_normal} normal")
    scores = maps.ravel()
    if num_thresholds is not None:
        lo, hi = scores.min(), scores.max()
        step = (hi - lo) / max(num_thresholds - 1, 1) or 1.0
        scores = lo + np.floor((scores - lo) / step) * step
    normal = (~masks).ravel()
    return _curve(scores, normal.astype(np.int64), weights.ravel(), n_normal, n_regions)


def aupro(masks: np.ndarray, maps: np.ndarray, fpr_limit: float = 0.3, num_thresholds: int | None = None) -> float:
    """Area under the PRO curve up to ``fpr_limit``, divided by ``fpr_limit`` (1.0 = perfect).

    ``masks (N, H, W)`` bool ground truth, ``maps (N, H, W)`` anomaly scores (higher = more anomalous).
    """
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"fpr_limit must be in (0, 1], got {fpr_limit}")
    fpr, pro = pro_curve(masks, maps, num_thresholds)
    k = int(np.searchsorted(fpr, fpr_limit, side="right"))  # fpr[:k] <= limit < fpr[k]
    xs, ys = fpr[:k], pro[:k]
    if k < fpr.size and xs[-1] < fpr_limit:  # interpolate the curve at the limit
        x0, x1, y0, y1 = fpr[k - 1], fpr[k], pro[k - 1], pro[k]
        xs = np.r_[xs, fpr_limit]
        ys = np.r_[ys, y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0)]
    return float(np.trapezoid(ys, xs) / fpr_limit)
