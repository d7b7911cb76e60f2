"""Logistic Gaussian-process densities on a fixed grid (no parametric family assumed).

A component's density over the ``G`` bins of a continuous attribute is ``p = softmax(f)`` with
``f ~ GP(0, k)``, ``k`` a squared-exponential kernel over bin centres. Given (soft) bin counts ``n``
the MAP ``f`` maximises ``J(f) = n·f − N·logsumexp(f) − ½ fᵀK⁻¹f`` (concave), found by damped Newton
steps (the Laplace mode), halving a row's step until ``J`` does not decrease.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_log_density", "gp_precision"]


def gp_precision(n_bins: int, lengthscale: float, variance: float, jitter: float = 1e-3) -> np.ndarray:
    """``K⁻¹`` ``(G, G)`` of an SE kernel with ``lengthscale`` in bins."""
    grid = np.arange(n_bins, dtype=np.float64)
    kernel = variance * np.exp(-0.5 * ((grid[:, None] - grid[None, :]) / lengthscale) ** 2)
    return np.linalg.inv(kernel + jitter * variance * np.eye(n_bins))


def _logsumexp(f: np.ndarray) -> np.ndarray:
    top = f.max(1)
    return top + np.log(np.exp(f - top[:, None]).sum(1))


def _objective(f: np.ndarray, counts: np.ndarray, total: np.ndarray, precision: np.ndarray) -> np.ndarray:
    return (counts * f).sum(1) - total * _logsumexp(f) - 0.5 * np.einsum("kg,gh,kh->k", f, precision, f)


def fit_log_density(counts: np.ndarray, precision: np.ndarray, init: np.ndarray | None = None,
                    iters: int = 8) -> np.ndarray:
    """Log bin probabilities ``(K, G)`` from soft counts ``(K, G)``: the MAP of a logistic GP per row."""
    counts = np.asarray(counts, dtype=np.float64)
    k, g = counts.shape
    f = np.zeros((k, g)) if init is None else np.array(init, dtype=np.float64)
    total = counts.sum(1)
    eye = np.eye(g)
    value = _objective(f, counts, total, precision)
    for _ in range(iters):
        p = np.exp(f - f.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = counts - total[:, None] * p - f @ precision.T
        hess = total[:, None, None] * (p[:, :, None] * eye - p[:, :, None] * p[:, None, :]) + precision
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        size = np.ones(k)
        for _ in range(20):
            trial = f + size[:, None] * step
            new = _objective(trial, counts, total, precision)
            worse = new < value - 1e-9 * np.abs(value)
            if not worse.any():
                break
            size[worse] *= 0.5
        keep = new >= value - 1e-9 * np.abs(value)
        f[keep], value[keep] = trial[keep], new[keep]
    f = f - f.max(1, keepdims=True)
    return f - np.log(np.exp(f).sum(1, keepdims=True))
