"""Anomaly injection: PyGOD's structural (clique) and contextual (feature replacement) generators, plus
"rewired" nodes (edges replaced by links to random distant nodes), kept out of training snapshots.

Labels are types: 0 normal, 1 clique, 2 contextual, 3 rewired. Each generator runs on currently normal
nodes only, so types never overlap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ANOMALY_TYPES", "inject"]

ANOMALY_TYPES = {1: "clique", 2: "contextual", 3: "rewired"}


def _pygod(generator, x: np.ndarray, candidates: np.ndarray, seed: int, **kwargs):  # type: ignore[no-untyped-def]
    """Run a PyGOD generator on the candidate nodes (no edges); returns (data, chosen candidate positions)."""
    import torch
    from torch_geometric.data import Data

    sub = Data(x=torch.from_numpy(x[candidates].copy()), edge_index=torch.zeros((2, 0), dtype=torch.long))
    with torch.random.fork_rng(devices=[]):
        out, y = generator(sub, seed=seed, **kwargs)  # PyGOD seeds torch's global generator
    return out, np.flatnonzero(y.numpy())


def _cliques(x, edges, y, rng, count, size):  # type: ignore[no-untyped-def]
    from pygod.generator import gen_structural_outlier

    candidates = np.flatnonzero(y == 0)
    out, chosen = _pygod(gen_structural_outlier, x, candidates, int(rng.integers(1, 2**31)), m=size, n=count)
    y[candidates[chosen]] = 1
    return x, np.concatenate([edges, candidates[out.edge_index.numpy()]], axis=1), y


def _contextual(x, edges, y, rng, count, k=50):  # type: ignore[no-untyped-def]
    from pygod.generator import gen_contextual_outlier

    candidates = np.flatnonzero(y == 0)
    out, chosen = _pygod(gen_contextual_outlier, x, candidates, int(rng.integers(1, 2**31)), n=count, k=k)
    x = x.copy()
    x[candidates] = out.x.numpy()
    y[candidates[chosen]] = 2
    return x, edges, y


def _rewired(x, edges, y, rng, count):  # type: ignore[no-untyped-def]
    n = len(y)
    chosen = rng.choice(np.flatnonzero(y == 0), size=count, replace=False)
    degree = np.bincount(edges[1], minlength=n)
    hit = np.isin(edges[0], chosen) | np.isin(edges[1], chosen)
    kept = edges[:, ~hit]
    new = [np.stack([np.full(max(int(degree[v]), 3), v), rng.integers(0, n, max(int(degree[v]), 3))]) for v in chosen]
    y[chosen] = 3
    return x, np.concatenate([kept, *new], axis=1), y


def inject(x: np.ndarray, edges: np.ndarray, types: tuple[int, ...], per_type: int, clique_size: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features ``(N, F)``, edges ``(2, E)`` → (features, edges, labels ``(N,)`` int8); ``per_type`` of each type."""
    y = np.zeros(len(x), dtype=np.int8)
    x = x.astype(np.float32)
    for kind in types:
        if kind == 1:
            x, edges, y = _cliques(x, edges, y, rng, max(1, per_type // clique_size), clique_size)
        elif kind == 2:
            x, edges, y = _contextual(x, edges, y, rng, per_type)
        elif kind == 3:
            x, edges, y = _rewired(x, edges, y, rng, per_type)
        else:
            raise ValueError(f"unknown anomaly type {kind}; known: {ANOMALY_TYPES}")
    return x, edges, y
