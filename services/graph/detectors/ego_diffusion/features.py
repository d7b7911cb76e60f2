"""Node inputs of the GNN and the diffusion model, computed on the whole graph before ego-graphs are cut.

Per node: standardised features ``x`` (F), their discrepancy from the neighbour mean ``x − mean_N(x)``
(F) and ``log(1 + degree)`` (1), so ``Z`` is ``(N, 2F + 1)``; each channel is then standardised with
training statistics. Also the quantile binning that turns ``Z`` into categorical attributes for the
discrete diffusion and back.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Binning", "degree", "neighbour_mean", "node_inputs"]


def degree(edge_index: Tensor, num_nodes: int) -> Tensor:
    """In-degree ``(N,)`` float32 of undirected ``(2, E)`` edges."""
    return torch.zeros(num_nodes).index_add_(0, edge_index[1], torch.ones(edge_index.shape[1]))


def neighbour_mean(x: Tensor, edge_index: Tensor) -> Tensor:
    """Mean of each node's neighbours' rows of ``x`` ``(N, F)``; zeros for isolated nodes."""
    total = torch.zeros_like(x).index_add_(0, edge_index[1], x[edge_index[0]])
    return total / degree(edge_index, x.shape[0]).clamp_min(1.0)[:, None]


def node_inputs(x: Tensor, edge_index: Tensor, x_mean: Tensor, x_std: Tensor) -> Tensor:
    """Raw features ``(N, F)`` → unstandardised inputs ``(N, 2F + 1)``."""
    xs = (x - x_mean) / x_std
    deg = degree(edge_index, x.shape[0])
    return torch.cat([xs, xs - neighbour_mean(xs, edge_index), torch.log1p(deg)[:, None]], dim=1)


class Binning:
    """Per-channel quantile bins: ``edges`` ``(D, B + 1)``, lowest and highest at the observed range."""

    def __init__(self, edges: Tensor) -> None:
        self.edges = edges

    @classmethod
    def fit(cls, z: Tensor, n_bins: int) -> Binning:
        """Bins from inputs ``(N, D)``; tied quantiles are nudged apart so every bin has width."""
        q = torch.linspace(0, 1, n_bins + 1)
        edges = torch.quantile(z.double(), q.double(), dim=0).T.float()  # (D, B+1)
        edges = edges + torch.arange(n_bins + 1) * 1e-4  # strictly increasing
        return cls(edges)

    @property
    def n_bins(self) -> int:
        """B."""
        return self.edges.shape[1] - 1

    def encode(self, z: Tensor) -> Tensor:
        """Inputs ``(..., D)`` → bin indices ``(..., D)`` int64 in ``[0, B)``."""
        inner = self.edges[:, 1:-1].contiguous()  # (D, B-1)
        flat = z.reshape(-1, z.shape[-1]).T.contiguous()  # (D, M)
        bins = torch.searchsorted(inner, flat, right=True).T
        return bins.reshape(z.shape)

    def decode(self, bins: Tensor, generator: torch.Generator) -> Tensor:
        """Bin indices ``(M, D)`` → values drawn uniformly inside each bin ``(M, D)``."""
        channel = torch.arange(bins.shape[1]).expand_as(bins)
        low, high = self.edges[channel, bins], self.edges[channel, bins + 1]
        return low + (high - low) * torch.rand(bins.shape, generator=generator)
