"""Batch fit of the components by EM over windows (windows act as documents with their own mixing).

E-step: responsibilities under per-window mixing weights. M-step: Dirichlet-smoothed categorical
counts, GP-density MAPs per continuous attribute, and window weights ``(n_wk + β) / (n_w + Kβ)``.
Initialisation: K seed events drawn k-means++-style on categorical mismatches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.tensorstream.detectors.heterocomp.gp_density import fit_log_density
from services.tensorstream.detectors.heterocomp.mixture import (
    categorical_logp,
    component_loglik,
    e_step,
    weighted_counts,
)

__all__ = ["EMResult", "fit_components"]


@dataclass
class EMResult:
    """Sufficient statistics and log-probabilities of the fitted components, and the final responsibilities."""

    cat_counts: list[np.ndarray]
    cont_counts: list[np.ndarray]
    cat_logp: list[np.ndarray]
    cont_logp: list[np.ndarray]
    resp: np.ndarray
    nll: np.ndarray
    log_likelihood: list[float]


def _seed_resp(codes: np.ndarray, bins: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Initial responsibilities ``(n, K)`` from K seed events far apart in attribute mismatches."""
    x = np.concatenate([codes, bins // 4], axis=1)
    n = x.shape[0]
    sample = rng.choice(n, size=min(n, 4000), replace=False)
    seeds = [int(sample[0])]
    dist = (x[sample] != x[seeds[0]]).sum(1).astype(np.float64)
    for _ in range(1, k):
        p = dist**2
        nxt = int(sample[rng.choice(sample.size, p=p / p.sum())]) if p.sum() > 0 else int(rng.choice(n))
        seeds.append(nxt)
        dist = np.minimum(dist, (x[sample] != x[nxt]).sum(1))
    similarity = np.stack([(x == x[s]).sum(1) for s in seeds], axis=1).astype(np.float64)
    logits = 2.0 * similarity + rng.gumbel(size=similarity.shape) * 0.5
    logits -= logits.max(1, keepdims=True)
    resp = np.exp(logits)
    return resp / resp.sum(1, keepdims=True)


def fit_components(codes: np.ndarray, bins: np.ndarray, offsets: np.ndarray, windows: np.ndarray,
                   cat_sizes: list[int], n_bins: int, precision: np.ndarray, k: int, iters: int, alpha: float,
                   concentration: float, seed: int) -> EMResult:
    """EM over events ``(n, ·)`` grouped by window index ``windows`` ``(n,)`` (0-based, dense)."""
    rng = np.random.default_rng(seed)
    resp = _seed_resp(codes, bins, k, rng)
    n_windows = int(windows.max()) + 1 if windows.size else 1
    cont_logp: list[np.ndarray] = [np.zeros((k, n_bins)) for _ in range(bins.shape[1])]
    history: list[float] = []
    nll = np.zeros(codes.shape[0])
    for _ in range(iters):
        cat_counts = [weighted_counts(codes[:, a], resp, size) for a, size in enumerate(cat_sizes)]
        cont_counts = [weighted_counts(bins[:, j], resp, n_bins) for j in range(bins.shape[1])]
        cat_logp = [categorical_logp(c, alpha) for c in cat_counts]
        cont_logp = [fit_log_density(c, precision, init=f, iters=4) for c, f in zip(cont_counts, cont_logp,
                                                                                      strict=True)]
        per_window = weighted_counts(windows, resp, n_windows).T + concentration  # (W, K)
        log_mix = np.log(per_window / per_window.sum(1, keepdims=True))
        loglik = component_loglik(codes, bins, offsets, cat_logp, cont_logp)
        resp, nll = e_step(loglik, log_mix[windows])
        history.append(float(-nll.mean()))
    cat_counts = [weighted_counts(codes[:, a], resp, size) for a, size in enumerate(cat_sizes)]
    cont_counts = [weighted_counts(bins[:, j], resp, n_bins) for j in range(bins.shape[1])]
    cat_logp = [categorical_logp(c, alpha) for c in cat_counts]
    cont_logp = [fit_log_density(c, precision, init=f, iters=6) for c, f in zip(cont_counts, cont_logp, strict=True)]
    return EMResult(cat_counts, cont_counts, cat_logp, cont_logp, resp, nll, history)
