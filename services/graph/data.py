"""Dynamic graph data sets: snapshots over time, anomalies injected per snapshot, split by time.

- ``sbm``: degree-corrected stochastic block model, class-dependent features drifting over time, half of
  the edges carried over from the previous snapshot.
- ``minnesota``: the real Minnesota road network (pygsp), graph-smooth features redrawn per snapshot.
- ``powerlaw``: a networkx ``powerlaw_cluster_graph`` (clustered scale-free), graph-smooth features.

Training snapshots carry clique and contextual anomalies; test snapshots also carry *rewired* nodes,
a type never seen in training. Edge times of snapshot ``t`` lie in ``[t, t + 0.9)``, so a window of
0.95 before the latest time holds exactly one snapshot's edges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.graph.anomalies import ANOMALY_TYPES, inject
from services.graph.batch import GraphBatch, normalise_edges

__all__ = ["DATASETS", "DynamicGraph", "load_dataset", "smooth_features"]

TRAIN_TYPES, TEST_TYPES, UNSEEN_TYPES = (1, 2), (1, 2, 3), (3,)


@dataclass(frozen=True)
class DynamicGraph:
    """Snapshots in time order (labels are anomaly types); train on ``train`` indices, test on ``test``."""

    name: str
    snapshots: list[GraphBatch]
    train: list[int]
    test: list[int]
    unseen_types: tuple[int, ...] = UNSEEN_TYPES
    type_names: dict[int, str] | None = None


def smooth_features(edges: np.ndarray, n: int, width: int, rng: np.random.Generator, steps: int = 6) -> np.ndarray:
    """Noise ``(n, width)`` averaged ``steps`` times over neighbours (homophilous), then standardised."""
    x = rng.standard_normal((n, width))
    degree = np.maximum(np.bincount(edges[1], minlength=n), 1)[:, None]
    for _ in range(steps):
        total = np.zeros_like(x)
        np.add.at(total, edges[1], x[edges[0]])
        x = 0.5 * x + 0.5 * total / degree
    return ((x - x.mean(0)) / (x.std(0) + 1e-9)).astype(np.float32)


def _snapshot(x: np.ndarray, edges: np.ndarray, types: tuple[int, ...], per_type: int, clique: int, t: int,
              rng: np.random.Generator) -> GraphBatch:
    x, edges, y = inject(x, edges, types, per_type, clique, rng)
    edges, times = normalise_edges(edges, len(x), t + 0.9 * rng.random(edges.shape[1]))
    return GraphBatch(x=x, edge_index=edges, edge_time=times, y=y, normalised=True)


def _dc_sbm_edges(blocks: np.ndarray, theta: np.ndarray, n_edges: int, mix: float, rng: np.random.Generator
                  ) -> np.ndarray:
    n = len(blocks)
    src = rng.choice(n, size=n_edges, p=theta / theta.sum())
    dst = rng.choice(n, size=n_edges, p=theta / theta.sum())
    same = rng.random(n_edges) > mix
    members = [np.flatnonzero(blocks == b) for b in range(blocks.max() + 1)]
    for b, nodes in enumerate(members):  # within-block edges: redraw the target inside the source's block
        pick = same & (blocks[src] == b)
        weights = theta[nodes] / theta[nodes].sum()
        dst[pick] = rng.choice(nodes, size=int(pick.sum()), p=weights)
    return np.stack([src, dst])


def sbm(n_nodes: int = 2000, n_snapshots: int = 7, n_train: int = 5, n_blocks: int = 4, n_features: int = 16,
        avg_degree: float = 10.0, mix: float = 0.1, drift: float = 0.15, per_type: int = 24, seed: int = 0
        ) -> DynamicGraph:
    """Attributed DC-SBM snapshots with drifting class means."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(n_blocks, size=n_nodes)
    theta = rng.lognormal(0.0, 0.5, n_nodes)
    centers, directions = rng.normal(0, 1.0, (n_blocks, n_features)), rng.normal(0, 1.0, (n_blocks, n_features))
    n_edges = int(n_nodes * avg_degree / 2)
    edges = _dc_sbm_edges(blocks, theta, n_edges, mix, rng)
    snapshots = []
    for t in range(n_snapshots):
        movers = rng.random(n_nodes) < 0.02
        blocks = np.where(movers, rng.integers(n_blocks, size=n_nodes), blocks)
        fresh = _dc_sbm_edges(blocks, theta, n_edges // 2, mix, rng)
        edges = np.concatenate([edges[:, rng.permutation(edges.shape[1])[: n_edges - n_edges // 2]], fresh], axis=1)
        x = (centers + drift * t * directions)[blocks] + rng.normal(0, 0.7, (n_nodes, n_features))
        types = TRAIN_TYPES if t < n_train else TEST_TYPES
        snapshots.append(_snapshot(x, edges, types, per_type, 8, t, rng))
    return DynamicGraph("sbm", snapshots, list(range(n_train)), list(range(n_train, n_snapshots)),
                        type_names=dict(ANOMALY_TYPES))


def _static_structure(name: str, edges: np.ndarray, n: int, coords: np.ndarray | None, n_snapshots: int,
                      n_train: int, per_type: int, clique: int, rng: np.random.Generator) -> DynamicGraph:
    snapshots = []
    for t in range(n_snapshots):
        x = smooth_features(edges, n, 8, rng)
        if coords is not None:
            x = np.concatenate([x, coords], axis=1)
        types = TRAIN_TYPES if t < n_train else TEST_TYPES
        snapshots.append(_snapshot(x, edges, types, per_type, clique, t, rng))
    return DynamicGraph(name, snapshots, list(range(n_train)), list(range(n_train, n_snapshots)),
                        type_names=dict(ANOMALY_TYPES))


def minnesota(n_snapshots: int = 6, n_train: int = 4, per_type: int = 24, seed: int = 0) -> DynamicGraph:
    """The pygsp Minnesota road graph (2642 nodes) with smooth features and coordinates."""
    import warnings

    from pygsp import graphs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scipy's notice about pygsp's int64 diagonals
        graph = graphs.Minnesota()
    coo = graph.W.tocoo()
    coords = ((graph.coords - graph.coords.mean(0)) / graph.coords.std(0)).astype(np.float32)
    edges = np.stack([coo.row, coo.col]).astype(np.int64)
    return _static_structure("minnesota", edges, graph.N, coords, n_snapshots, n_train, per_type, 5,
                             np.random.default_rng(seed))


def powerlaw(n_nodes: int = 2000, n_snapshots: int = 6, n_train: int = 4, per_type: int = 24, seed: int = 0
             ) -> DynamicGraph:
    """networkx ``powerlaw_cluster_graph(n, 4, 0.3)`` with smooth features."""
    import networkx as nx

    graph = nx.powerlaw_cluster_graph(n_nodes, 4, 0.3, seed=seed)
    edges = np.asarray(list(graph.edges()), dtype=np.int64).T
    edges = np.concatenate([edges, edges[::-1]], axis=1)
    return _static_structure("powerlaw", edges, n_nodes, None, n_snapshots, n_train, per_type, 8,
                             np.random.default_rng(seed))


DATASETS: dict[str, Callable[..., DynamicGraph]] = {"sbm": sbm, "minnesota": minnesota, "powerlaw": powerlaw}


def load_dataset(name: str, **kwargs: object) -> DynamicGraph:
    """A bundled dynamic graph by name."""
    if name not in DATASETS:
        raise ValueError(f"unknown graph data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name](**kwargs)
