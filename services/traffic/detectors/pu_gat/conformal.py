"""Split and adaptive conformal prediction intervals over normalized residuals, with online coverage.

Nonconformity is ``|y - mean| / scale`` per feature (the forecaster's own scale: locally adaptive widths). The split
quantile at miscoverage ``α`` is the ``⌈(M + 1)(1 - α)⌉``-th smallest of ``M`` held-out scores. Adaptive conformal
inference (Gibbs & Candès, 2021) updates a per-cell ``α_t`` after each observation:
``α_{t+1} = α_t + γ (α - err_t)``, which keeps long-run coverage at ``1 - α`` under drift.
"""

from __future__ import annotations

import numpy as np

__all__ = ["aci_update", "conformal_quantile"]


def conformal_quantile(sorted_scores: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Quantiles from sorted scores ``(F, M)`` at miscoverage ``alpha`` (scalar or ``(..., F)``) → ``(..., F)``.

    ``α`` at or below ``1 / (M + 1)`` gives the largest calibration score (the widest finite interval).
    """
    f, m = sorted_scores.shape
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), np.broadcast_shapes(np.shape(alpha), (f,)))
    rank = np.ceil((m + 1) * (1.0 - alpha)).astype(np.int64) - 1
    rank = np.clip(rank, 0, m - 1)
    return np.take_along_axis(np.broadcast_to(sorted_scores, (*alpha.shape[:-1], f, m)), rank[..., None],
                              axis=-1)[..., 0]


def aci_update(alpha_t: np.ndarray, miss: np.ndarray, target: float, rate: float,
               observed: np.ndarray | None = None) -> np.ndarray:
    """One adaptive-conformal step: ``alpha_t`` ``(N, F)``, ``miss`` ``(N, F)`` bool (outside the interval);
    cells not ``observed`` ``(N,)`` keep their level. Levels stay in ``[-0.5, 1)``."""
    step = alpha_t + rate * (target - miss.astype(np.float64))
    if observed is not None:
        step = np.where(observed[:, None], step, alpha_t)
    return np.clip(step, -0.5, 0.999)
