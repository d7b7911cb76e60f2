"""Peers of the graph bench: supervised GNNs of our size (GCN, GAT) and PyGOD's unsupervised detectors.

Supervised peers see what our detector sees: the labelled fit snapshots (their current edges, raw node
features standardised with fit statistics), class-weighted BCE, full-batch Adam; the epoch is chosen on
the held-out snapshot's labels (AUPRC, checked every 5 epochs), never on test snapshots. Two message-passing
layers of width 64 and a 64-unit head, as in our GNN. PyGOD's DOMINANT and AnomalyDAE are unsupervised and
transductive, so they are fitted on each test snapshot itself with their authors' defaults.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from services.graph.batch import GraphBatch
from services.graph.experiments import Split, detection_metrics

__all__ = ["SupervisedGNN", "fit_supervised", "pygod_scorer"]

Scorer = Callable[[GraphBatch], np.ndarray]


class SupervisedGNN(nn.Module):
    """Features ``(N, F)`` and edges ``(2, E)`` → logits ``(N,)``: two GCN or GAT layers, an MLP head."""

    def __init__(self, kind: str, in_dim: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        from torch_geometric.nn import GATConv, GCNConv

        def layer(width_in: int) -> nn.Module:
            return GCNConv(width_in, hidden) if kind == "GCN" else GATConv(width_in, hidden // 4, heads=4)

        self.convs = nn.ModuleList([layer(in_dim), layer(hidden)])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        for conv in self.convs:
            x = self.dropout(torch.relu(conv(x, edge_index)))
        return self.head(x).squeeze(1)


def fit_supervised(kind: str, parts: Split, seed: int, max_epochs: int = 300, lr: float = 3e-3) -> Scorer:
    """Train ``kind`` ("GCN" / "GAT") on ``parts.fit``; return the scorer at the best validation epoch."""
    torch.manual_seed(seed)
    fit = parts.fit
    fitted = torch.from_numpy(fit.target_nodes)
    x = torch.from_numpy(fit.x)
    mean, std = x[fitted].mean(0), x[fitted].std(0).clamp_min(1e-6)
    labels = torch.from_numpy((fit.y[fit.target_nodes] > 0).astype(np.float32))
    model = SupervisedGNN(kind, x.shape[1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=(1 - labels).sum() / labels.sum())
    edges = torch.from_numpy(fit.edge_index)

    def score(batch: GraphBatch) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            logits = model((torch.from_numpy(batch.x) - mean) / std, torch.from_numpy(batch.edge_index))
        model.train()
        return logits[torch.from_numpy(batch.target_nodes)].numpy()

    held = parts.validation.y > 0
    best, best_state = -1.0, None
    for epoch in range(max_epochs):
        loss = loss_fn(model((x - mean) / std, edges)[fitted], labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if epoch % 5 == 4:
            auprc = detection_metrics(held, score(parts.validation))[1]
            if auprc > best:
                best, best_state = auprc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    return score


class _FullBatch:
    """Stands in for PyG's NeighborLoader inside PyGOD (it needs pyg-lib or torch-sparse, absent here):
    PyGOD's default ``batch_size=0`` / ``num_neigh=-1`` means one full-graph batch anyway."""

    def __init__(self, data, num_neighbors, batch_size):  # type: ignore[no-untyped-def]
        self.data = data

    def __iter__(self):  # type: ignore[no-untyped-def]
        data = self.data.clone()
        data.batch_size, data.n_id = data.num_nodes, torch.arange(data.num_nodes)
        return iter([data])


def pygod_scorer(name: str, epochs: int, seed: int) -> Scorer:
    """``score(batch)``: fit the PyGOD detector on the snapshot itself, return its decision scores."""
    import pygod.detector as detectors
    import pygod.detector.base as base
    from torch_geometric.data import Data

    base.NeighborLoader = _FullBatch

    def score(batch: GraphBatch) -> np.ndarray:
        torch.manual_seed(seed)
        data = Data(x=torch.from_numpy(batch.x), edge_index=torch.from_numpy(batch.edge_index))
        model = getattr(detectors, name)(epoch=epochs, verbose=0)
        model.fit(data)
        return model.decision_score_.numpy()

    return score
