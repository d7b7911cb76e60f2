"""The inductive detector network: GraphSAGE layers over a node's ego-graph, a jumping-knowledge head.

A ``k``-layer network reads exactly the ``k``-hop ego-graph of each node, so the same weights score
mini-batches of ego-graphs in training and the whole graph layer by layer at inference.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["EgoGNN"]


class EgoGNN(nn.Module):
    """Inputs ``(N, D)`` and edges ``(2, E)`` → anomaly logits ``(N,)``."""

    def __init__(self, in_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        from torch_geometric.nn import SAGEConv

        self.encode = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        self.convs = nn.ModuleList(SAGEConv(hidden, hidden, aggr="mean") for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(hidden * (layers + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, z: Tensor, edge_index: Tensor) -> Tensor:
        """Logits ``(N,)``; row ``i`` depends only on ``i``'s ``layers``-hop ego-graph."""
        h = self.encode(z)
        taps = [h]
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = self.dropout(torch.relu(norm(conv(h, edge_index))))
            taps.append(h)
        return self.head(torch.cat(taps, dim=1)).squeeze(1)
