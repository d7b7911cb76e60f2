"""The component likelihoods of events and the mixture's E-step (plain numpy).

An event with categorical codes ``c_a`` and continuous bins ``b_j`` has, under component ``k``,
``log p(x | k) = Σ_a log φ_k,a[c_a] + Σ_j (log ψ_k,j[b_j] + offset_j)`` where ``φ`` are
Dirichlet-smoothed categorical distributions and ``ψ`` the GP densities on the grids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["categorical_logp", "component_loglik", "e_step", "weighted_counts"]


def categorical_logp(counts: np.ndarray, alpha: float) -> np.ndarray:
    """``log φ`` ``(K, V)`` from soft counts ``(K, V)`` with a symmetric Dirichlet(alpha) prior (posterior mean)."""
    smoothed = counts + alpha
    return np.log(smoothed / smoothed.sum(1, keepdims=True))


def component_loglik(codes: np.ndarray, bins: np.ndarray, offsets: np.ndarray, cat_logp: Sequence[np.ndarray],
                     cont_logp: Sequence[np.ndarray]) -> np.ndarray:
    """``log p(x_i | k)`` ``(n, K)`` for codes ``(n, A)``, bins ``(n, C)`` and density offsets ``(n,)``."""
    out = np.repeat(offsets[:, None], (cat_logp or cont_logp)[0].shape[0], axis=1)
    for a, logp in enumerate(cat_logp):
        out += logp.T[codes[:, a]]
    for j, logp in enumerate(cont_logp):
        out += logp.T[bins[:, j]]
    return out


def e_step(loglik: np.ndarray, log_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities ``(n, K)`` and event NLL ``(n,)`` given per-event log mixing weights ``(n, K)`` or ``(K,)``."""
    joint = loglik + log_weights
    top = joint.max(1, keepdims=True)
    weights = np.exp(joint - top)
    total = weights.sum(1, keepdims=True)
    return weights / total, -(np.log(total[:, 0]) + top[:, 0])


def weighted_counts(index: np.ndarray, resp: np.ndarray, size: int) -> np.ndarray:
    """``Σ_i resp[i, k] [index_i = v]`` as ``(K, size)``."""
    k = resp.shape[1]
    flat = np.bincount((index[:, None] * k + np.arange(k)).ravel(), weights=resp.ravel(), minlength=size * k)
    return flat.reshape(size, k).T
