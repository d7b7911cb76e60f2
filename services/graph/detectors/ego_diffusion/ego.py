"""Ego-graphs: dense, size-capped ego-graphs for the diffusion model, and exact k-hop mini-batches for the GNN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["CSR", "EgoBatch", "dense_ego", "khop_batch", "merge", "union_of_small_graphs"]


@dataclass(frozen=True)
class CSR:
    """Neighbour lists of an undirected graph: ``indices[indptr[i]:indptr[i + 1]]`` are ``i``'s neighbours."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_edges(cls, edge_index: np.ndarray, num_nodes: int) -> CSR:
        """From ``(2, E)`` edges listing both directions."""
        order = np.argsort(edge_index[1], kind="stable")
        counts = np.bincount(edge_index[1], minlength=num_nodes)
        return cls(np.concatenate([[0], np.cumsum(counts)]), edge_index[0][order])

    def neighbours(self, node: int) -> np.ndarray:
        """Neighbours of ``node``."""
        return self.indices[self.indptr[node] : self.indptr[node + 1]]


def dense_ego(
    csr: CSR, center: int, hops: int, max_nodes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``(n,)`` (center first, then hop by hop, sampled when over ``max_nodes``) and adjacency ``(n, n)`` bool."""
    chosen = [center]
    seen = {center}
    frontier = [center]
    for _ in range(hops):
        if len(chosen) >= max_nodes or not frontier:
            break
        candidates = np.unique(np.concatenate([csr.neighbours(v) for v in frontier]))
        candidates = np.array([c for c in candidates if c not in seen], dtype=np.int64)
        rng.shuffle(candidates)
        frontier = candidates[: max_nodes - len(chosen)].tolist()
        chosen.extend(frontier)
        seen.update(frontier)
    nodes = np.asarray(chosen, dtype=np.int64)
    position = {int(v): i for i, v in enumerate(nodes)}
    adjacency = np.zeros((len(nodes), len(nodes)), dtype=bool)
    for i, v in enumerate(nodes):
        for u in csr.neighbours(int(v)):
            j = position.get(int(u))
            if j is not None:
                adjacency[i, j] = adjacency[j, i] = True
    return nodes, adjacency


@dataclass(frozen=True)
class EgoBatch:
    """Several ego-graphs as one graph: inputs ``z`` ``(M, D)``, edges ``(2, E)``, centers ``(B,)`` row indices."""

    z: Tensor
    edge_index: Tensor
    centers: Tensor


def khop_batch(centers: Tensor, hops: int, z: Tensor, edge_index: Tensor) -> EgoBatch:
    """The union of the exact ``hops``-hop ego-graphs of ``centers`` (PyG ``k_hop_subgraph``)."""
    from torch_geometric.utils import k_hop_subgraph

    subset, sub_edges, mapping, _ = k_hop_subgraph(centers, hops, edge_index, relabel_nodes=True,
                                                  num_nodes=z.shape[0])
    return EgoBatch(z[subset], sub_edges, mapping)


def union_of_small_graphs(graphs: list[tuple[Tensor, Tensor]]) -> EgoBatch:
    """Ego-graphs given as (inputs ``(n, D)``, adjacency ``(n, n)`` bool), center first, as one batch."""
    zs, edges, centers, offset = [], [], [], 0
    for z, adjacency in graphs:
        src, dst = adjacency.nonzero(as_tuple=True)
        edges.append(torch.stack([src, dst]) + offset)
        zs.append(z)
        centers.append(offset)
        offset += z.shape[0]
    return EgoBatch(torch.cat(zs), torch.cat(edges, dim=1), torch.tensor(centers, dtype=torch.long))


def merge(a: EgoBatch, b: EgoBatch) -> EgoBatch:
    """Two batches side by side (disjoint union); centers of ``a`` first."""
    offset = a.z.shape[0]
    return EgoBatch(torch.cat([a.z, b.z]), torch.cat([a.edge_index, b.edge_index + offset], dim=1),
                    torch.cat([a.centers, b.centers + offset]))
