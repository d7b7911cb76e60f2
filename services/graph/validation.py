"""Checking a :class:`GraphBatch`: shapes, ranges, finiteness and size limits, then edge normalisation.

Every problem is an ``InvalidInputError`` that names the field and what was expected. Self-loops and
duplicate edges are not errors: they are dropped (edges become undirected and unique). With a time
window, timed edges older than the window become the batch's history (normalised apart from the
current edges, so an edge present in both windows stays in both).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.graph.batch import GraphBatch, normalise_edges, window_start

__all__ = ["validate_graph"]


def _check_features(x: np.ndarray, n_features: int | None, max_nodes: int) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        shape = getattr(x, "shape", None)
        raise InvalidInputError(f"node_features must be a 2-D (N, F) array, got shape {shape}", "node_features")
    n, f = x.shape
    if n == 0 or f == 0:
        raise InvalidInputError(f"node_features is empty (shape {[n, f]}); expected N ≥ 1, F ≥ 1", "node_features")
    if n > max_nodes:
        raise LimitExceededError(f"graph has {n} nodes; the limit is {max_nodes}", "node_features")
    if n_features is not None and f != n_features:
        raise InvalidInputError(
            f"node_features has {f} features per node; the model was trained on {n_features}", "node_features"
        )
    if not np.issubdtype(x.dtype, np.number):
        raise InvalidInputError(f"node_features must be numeric, got {x.dtype}", "node_features")
    x = x.astype(np.float32, copy=False)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InvalidInputError(
            f"node_features holds NaN or infinite values (first at node {bad}); expected finite numbers",
            "node_features",
        )
    return x


def _check_edges(edge_index: np.ndarray, n: int, max_edges: int) -> np.ndarray:
    if not isinstance(edge_index, np.ndarray) or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        shape = getattr(edge_index, "shape", None)
        raise InvalidInputError(f"edge_index must be a (2, E) integer array, got shape {shape}", "edge_index")
    if edge_index.size and not np.issubdtype(edge_index.dtype, np.integer):
        raise InvalidInputError(f"edge_index must hold integers, got {edge_index.dtype}", "edge_index")
    if edge_index.shape[1] > max_edges:
        raise LimitExceededError(f"graph has {edge_index.shape[1]} edges; the limit is {max_edges}", "edge_index")
    edge_index = edge_index.astype(np.int64, copy=False)
    if edge_index.size:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise InvalidInputError(
                f"edge_index refers to node {bad}, outside [0, {n}) for a graph of {n} nodes", "edge_index"
            )
    return edge_index


def _check_optional(batch: GraphBatch, n: int, e: int) -> None:
    if batch.edge_time is not None:
        t = batch.edge_time
        if t.shape != (e,) or not np.issubdtype(t.dtype, np.number) or not np.isfinite(t).all():
            raise InvalidInputError(f"edge_time must be {e} finite numbers, one per edge; got shape {t.shape}",
                                    "edge_time")
    if batch.history_index is not None:
        h = batch.history_index
        if h.ndim != 2 or h.shape[0] != 2 or (h.size and (int(h.min()) < 0 or int(h.max()) >= n)):
            raise InvalidInputError(f"history edges must be a (2, H) array of nodes in [0, {n})", "history_index")
        if batch.history_time is None or batch.history_time.shape != (h.shape[1],):
            raise InvalidInputError("history edges need one time each", "history_time")
    if batch.y is not None and batch.y.shape != (n,):
        raise InvalidInputError(f"labels must have one entry per node ({n}), got shape {batch.y.shape}", "labels")
    if batch.y is not None and batch.y.size and int(batch.y.min()) < 0:
        raise InvalidInputError("labels must be 0 (normal) or a positive anomaly type", "labels")
    if batch.targets is not None:
        targets = batch.targets
        if targets.ndim != 1 or (targets.size and not np.issubdtype(targets.dtype, np.integer)):
            raise InvalidInputError(f"target_nodes must be a 1-D integer array, got shape {targets.shape}",
                                    "target_nodes")
        if targets.size == 0:
            raise InvalidInputError("target_nodes is empty; omit it to score every node", "target_nodes")
        if int(targets.min()) < 0 or int(targets.max()) >= n:
            raise InvalidInputError(f"target_nodes must lie in [0, {n}) for a graph of {n} nodes", "target_nodes")


def _split_window(batch: GraphBatch, time_window: float) -> GraphBatch:
    """Edges older than ``time_window`` before the latest time (of their snapshot, in a union) move to the
    (normalised) history."""
    times = batch.edge_time
    start = window_start(batch.edge_index, times, batch.snapshot, batch.num_nodes, time_window)
    old = times < start[batch.edge_index[1]]
    if not old.any():
        return batch
    n = batch.num_nodes
    history, history_time = normalise_edges(batch.edge_index[:, old], n, times[old])
    if batch.history_index is not None:  # an earlier history sent as well: keep both, latest time per edge
        history, history_time = normalise_edges(np.concatenate([batch.history_index, history], axis=1), n,
                                                np.concatenate([batch.history_time, history_time]))
    return replace(batch, edge_index=batch.edge_index[:, ~old], edge_time=times[~old], history_index=history,
                   history_time=history_time)


def validate_graph(
    batch: GraphBatch, n_features: int | None, max_nodes: int, max_edges: int, time_window: float | None = None
) -> GraphBatch:
    """A checked batch with float32 features, int64 targets and normalised undirected edges (the current
    window's when ``time_window`` is given and edges carry times; older edges become the history)."""
    if not isinstance(batch, GraphBatch):
        raise InvalidInputError(f"expected a GraphBatch (node features + edge index), got {type(batch).__name__}")
    x = _check_features(batch.x, n_features, max_nodes)
    n = x.shape[0]
    edge_index = _check_edges(batch.edge_index, n, max_edges)
    _check_optional(batch, n, edge_index.shape[1])
    targets = None if batch.targets is None else batch.targets.astype(np.int64, copy=False)
    batch = replace(batch, x=x, edge_index=edge_index, targets=targets)
    if time_window is not None and batch.edge_time is not None and batch.num_edges:
        batch = _split_window(batch, time_window)
    if batch.normalised:
        return batch
    edges, times = normalise_edges(batch.edge_index, n, batch.edge_time)
    return replace(batch, edge_index=edges, edge_time=times, normalised=True)
