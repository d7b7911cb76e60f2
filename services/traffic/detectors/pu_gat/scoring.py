"""CRFN-BY scoring: uncertainty-normalized residuals → residual-flow scores and the propagation along the graph.

Scores are raw (higher = more anomalous); the service turns them into conformal p-values per (time, sensor) cell
and applies Benjamini–Yekutieli across the network (``services.core.calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TrafficEvidence", "neighbour_mean", "propagation"]

Z_CLIP = 1e3
"""Normalized residuals are clipped to ±Z_CLIP so scores stay finite."""


@dataclass(frozen=True)
class TrafficEvidence:
    """Per-cell evidence of one batch (``T`` snapshots, ``N`` sensors, ``F`` features), in reading units.

    ``propagation`` ``(T, N)``: anomalous residual mass arriving from upstream sensors that were anomalous one
    step earlier (0 when none); ``coverage`` ``(F,)``: share of observed readings inside their intervals.
    """

    mean: np.ndarray  # (T, N, F)
    lower: np.ndarray  # (T, N, F)
    upper: np.ndarray  # (T, N, F)
    z: np.ndarray  # (T, N, F) normalized residuals
    propagation: np.ndarray  # (T, N)
    coverage: np.ndarray  # (F,)


def neighbour_mean(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean normalized residual of each sensor's neighbours: ``z`` ``(T, N, F)``, row-stochastic ``(N, N)``."""
    return np.einsum("ij,tjf->tif", weights, z)


def propagation(z: np.ndarray, upstream: np.ndarray, previous: np.ndarray | None = None,
                threshold: float = 2.0) -> np.ndarray:
    """Residual flow ``(T, N)``: ``Σ_j up[j, i] · e_{t-1, j} · e_{t, i}`` with ``e = max(0, rms(z) - threshold)``.

    ``upstream`` ``(N, N)`` is the adjacency (``[j, i]``: j feeds i); ``previous`` ``(N,)`` is ``e`` of the step
    before the batch (zeros when unknown).
    """
    excess = np.maximum(0.0, np.sqrt((z**2).mean(-1)) - threshold)
    before = np.concatenate([(previous if previous is not None else np.zeros(z.shape[1]))[None], excess[:-1]])
    return (before @ upstream) * excess
