"""The graph container every graph detector takes: one (possibly disjoint-union) attributed graph.

:class:`GraphBatch` is plain numpy so it travels through every backend (Ray pickles it). Edges are
undirected: :func:`normalise_edges` drops self-loops and duplicates and stores both directions.
Several snapshots are packed into one batch as a disjoint union (:func:`union`); a k-layer GNN
never mixes them, so training on the union equals training on each snapshot.

A batch may also carry the edges of an earlier time window (``history_index``, ``history_time``),
kept apart from the current edges: temporal detectors compare the two (see
``services.graph.detectors.ego_diffusion.temporal``); static detectors ignore them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["GraphBatch", "normalise_edges", "restrict_targets", "select_snapshots", "union", "window_start",
           "with_history"]


@dataclass(frozen=True)
class GraphBatch:
    """An attributed graph and the nodes of interest.

    x: float32 ``(N, F)`` node features. edge_index: int64 ``(2, E)`` (source, target) rows.
    edge_time: optional float64 ``(E,)`` timestamps. y: optional int8 ``(N,)`` labels (0 normal,
    k > 0 anomaly of type k). targets: optional int64 ``(K,)``; scores come back for these
    nodes in this order, or for every node when None (for ``fit``: the nodes whose labels are used).
    snapshot: optional int32 ``(N,)`` snapshot index of each node. explain_top_k: how many of the
    highest-scored targets get per-node evidence from ``score_and_explain``. history_index: optional
    int64 ``(2, H)`` normalised edges of the earlier window, history_time float64 ``(H,)`` their times.
    """

    x: np.ndarray
    edge_index: np.ndarray
    edge_time: np.ndarray | None = None
    y: np.ndarray | None = None
    targets: np.ndarray | None = None
    snapshot: np.ndarray | None = None
    explain_top_k: int = 10
    history_index: np.ndarray | None = None
    history_time: np.ndarray | None = None
    normalised: bool = field(default=False, compare=False)

    @property
    def num_nodes(self) -> int:
        """N."""
        return int(self.x.shape[0])

    @property
    def num_edges(self) -> int:
        """E (directed entries after normalisation: twice the undirected edges)."""
        return int(self.edge_index.shape[1])

    @property
    def target_nodes(self) -> np.ndarray:
        """The scored nodes ``(K,)`` int64 (every node when ``targets`` is None)."""
        return np.arange(self.num_nodes, dtype=np.int64) if self.targets is None else self.targets

    def __len__(self) -> int:
        """Number of scored units (target nodes)."""
        return int(self.target_nodes.size)


def normalise_edges(
    edge_index: np.ndarray, num_nodes: int, edge_time: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Undirected, loop-free, duplicate-free ``(2, E')`` edges; a duplicate keeps its latest time."""
    src, dst = edge_index[0].astype(np.int64), edge_index[1].astype(np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    times = edge_time[keep] if edge_time is not None else None
    both_src, both_dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    key = both_src * num_nodes + both_dst
    if times is None:
        key = np.unique(key)
        return np.stack([key // num_nodes, key % num_nodes]), None
    both_t = np.concatenate([times, times])
    order = np.lexsort((-both_t, key))  # per key, the latest time first
    key, both_t = key[order], both_t[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, both_t = key[first], both_t[first]
    return np.stack([key // num_nodes, key % num_nodes]), both_t


def restrict_targets(batch: GraphBatch, k: int) -> GraphBatch:
    """The same graph with only its first ``k`` target nodes scored."""
    return replace(batch, targets=batch.target_nodes[:k].copy())


def window_start(edge_index: np.ndarray, edge_time: np.ndarray, snapshot: np.ndarray | None, num_nodes: int,
                 window: float) -> np.ndarray:
    """Start ``(N,)`` of each node's current window: the latest edge time of its snapshot (of the whole
    graph when ``snapshot`` is None) minus ``window``; ``-inf`` for a snapshot without timed edges."""
    group = np.zeros(num_nodes, dtype=np.int64) if snapshot is None else snapshot.astype(np.int64)
    latest = np.full(int(group.max(initial=0)) + 1, -np.inf)
    np.maximum.at(latest, group[edge_index[1]], edge_time)
    return latest[group] - window


def with_history(current: GraphBatch, previous: GraphBatch) -> GraphBatch:
    """``current`` carrying ``previous``'s edges and times as its history (same nodes, same ids)."""
    if previous.num_nodes != current.num_nodes or previous.edge_time is None:
        raise ValueError("history needs the same nodes and timed edges")
    edges, times = normalise_edges(previous.edge_index, previous.num_nodes, previous.edge_time)
    return replace(current, history_index=edges, history_time=times)


def select_snapshots(batch: GraphBatch, keep: Sequence[int]) -> GraphBatch:
    """The packed snapshots ``keep`` of a union (nodes renumbered, targets and history kept inside them)."""
    if batch.snapshot is None:
        raise ValueError("the batch is not a union of snapshots")
    chosen = np.isin(batch.snapshot, np.asarray(keep))
    new_id = np.cumsum(chosen) - 1

    def edges_within(edges: np.ndarray | None, times: np.ndarray | None) -> tuple:
        if edges is None:
            return None, None
        inside = chosen[edges[0]] & chosen[edges[1]]
        return new_id[edges[:, inside]], None if times is None else times[inside]

    edge_index, edge_time = edges_within(batch.edge_index, batch.edge_time)
    history_index, history_time = edges_within(batch.history_index, batch.history_time)
    targets = batch.target_nodes
    return replace(batch, x=batch.x[chosen], edge_index=edge_index, edge_time=edge_time,
                   y=None if batch.y is None else batch.y[chosen], targets=new_id[targets[chosen[targets]]],
                   snapshot=batch.snapshot[chosen], history_index=history_index, history_time=history_time)


def _packed(batches: Sequence[GraphBatch], offsets: np.ndarray, field_name: str) -> np.ndarray | None:
    """Edges ``field_name`` of every batch, offset into the union (None unless all batches have them)."""
    parts = [getattr(b, field_name) for b in batches]
    if any(p is None for p in parts):
        return None
    return np.concatenate([p + o for p, o in zip(parts, offsets, strict=False)], axis=1)


def union(batches: Sequence[GraphBatch]) -> GraphBatch:
    """Disjoint union of snapshots (same feature width); node ids are offset, targets and history kept."""
    if not batches:
        raise ValueError("union of no graphs")
    offsets = np.cumsum([0] + [b.num_nodes for b in batches])
    has_time = all(b.edge_time is not None for b in batches)
    has_y = all(b.y is not None for b in batches)
    history = _packed(batches, offsets, "history_index")
    return GraphBatch(
        x=np.concatenate([b.x for b in batches]).astype(np.float32),
        edge_index=_packed(batches, offsets, "edge_index"),
        edge_time=np.concatenate([b.edge_time for b in batches]) if has_time else None,  # type: ignore[misc]
        y=np.concatenate([b.y for b in batches]).astype(np.int8) if has_y else None,  # type: ignore[misc]
        targets=np.concatenate([b.target_nodes + o for b, o in zip(batches, offsets, strict=False)]),
        snapshot=np.concatenate([np.full(b.num_nodes, i, np.int32) for i, b in enumerate(batches)]),
        history_index=history,
        history_time=None if history is None else np.concatenate([b.history_time for b in batches]),
        normalised=all(b.normalised for b in batches),
    )
