"""Per-node evidence by occlusion on the ego-graph: how much each neighbour raises a node's score.

For a node ``t`` and each of its (up to ``candidates``) direct neighbours ``j``, the node is re-scored
on its ego-graph with every edge of ``j`` removed; the influence of ``j`` is the drop in ``t``'s logit.
All occluded copies of one ego-graph are scored together as a disjoint union.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from services.graph.detectors.ego_diffusion.gnn import EgoGNN

__all__ = ["NodeEvidence", "occlusion_evidence"]

MAX_EDGES_PER_PASS = 2_000_000


@dataclass(frozen=True)
class NodeEvidence:
    """Explained nodes ``(k,)``, their top neighbours ``(k, m)`` (−1 = none) and influences ``(k, m)`` float32."""

    nodes: np.ndarray
    neighbours: np.ndarray
    influence: np.ndarray

    @classmethod
    def empty(cls, m: int) -> NodeEvidence:
        """No explained nodes."""
        return cls(np.zeros(0, np.int64), np.zeros((0, m), np.int64), np.zeros((0, m), np.float32))


def _occluded_logits(gnn: EgoGNN, z: Tensor, edges: Tensor, center: int, removed: Tensor) -> Tensor:
    """Logit of ``center`` with no occlusion, then with each node of ``removed`` ``(c,)`` cut off: ``(c + 1,)``."""
    n = z.shape[0]
    out = []
    chunk = max(1, MAX_EDGES_PER_PASS // max(edges.shape[1], 1))
    variants = torch.cat([torch.tensor([-1]), removed])
    for start in range(0, len(variants), chunk):
        part = variants[start : start + chunk]
        keep = (edges[0][None] != part[:, None]) & (edges[1][None] != part[:, None])  # (c, E)
        copy, position = keep.nonzero(as_tuple=True)
        union = edges[:, position] + copy * n
        logits = gnn(z.repeat(len(part), 1), union)
        out.append(logits[torch.arange(len(part)) * n + center])
    return torch.cat(out)


@torch.no_grad()
def occlusion_evidence(gnn: EgoGNN, z: Tensor, edge_index: Tensor, nodes: np.ndarray, hops: int,
                       candidates: int, top: int) -> NodeEvidence:
    """Top-``top`` neighbours by influence for each of ``nodes`` ``(k,)`` (global ids)."""
    if nodes.size == 0:
        return NodeEvidence.empty(top)
    neighbours = np.full((len(nodes), top), -1, dtype=np.int64)
    influence = np.zeros((len(nodes), top), dtype=np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small ego-graph passes: extra threads only add synchronisation
    try:
        for row, node in enumerate(nodes.tolist()):
            _explain_one(gnn, z, edge_index, node, hops, candidates, neighbours[row], influence[row])
    finally:
        torch.set_num_threads(threads)
    return NodeEvidence(nodes.astype(np.int64), neighbours, influence)


def _explain_one(gnn: EgoGNN, z: Tensor, edge_index: Tensor, node: int, hops: int, candidates: int,
                 neighbours: np.ndarray, influence: np.ndarray) -> None:
    """Fill one row of neighbours ``(m,)`` and influences ``(m,)`` for ``node``."""
    from torch_geometric.utils import k_hop_subgraph

    subset, edges, mapping, _ = k_hop_subgraph(int(node), hops, edge_index, relabel_nodes=True,
                                               num_nodes=z.shape[0])
    center = int(mapping[0])
    direct = torch.unique(edges[0][edges[1] == center])[:candidates]
    if direct.numel() == 0:
        return
    logits = _occluded_logits(gnn, z[subset], edges, center, direct)
    drop = (logits[0] - logits[1:]).numpy()
    order = np.argsort(-drop, kind="stable")[: len(neighbours)]
    neighbours[: len(order)] = subset[direct[torch.from_numpy(order)]].numpy()
    influence[: len(order)] = drop[order]
