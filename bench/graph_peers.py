"""Peers of the graph bench: supervised GNNs of our size (GCN, GAT, BWGNN) and PyGOD's unsupervised detectors.

Supervised peers see what our detector sees: the labelled fit snapshots (their current edges, raw node
features standardised with fit statistics), class-weighted BCE, full-batch Adam; the epoch is chosen on
the held-out snapshot's labels (AUPRC, checked every 5 epochs), never on test snapshots. Two message-passing
layers of width 64 and a 64-unit head, as in our GNN. BWGNN (Tang et al., ICML 2022, "Rethinking Graph
Neural Networks for Anomaly Detection"), the supervised detector built for anomalies, is run as its authors
ship it: a two-layer MLP of width 64, ``C + 1 = 3`` Beta-wavelet band-pass filters of order 2 on the
symmetric normalised Laplacian, their outputs concatenated into a two-layer head; Adam at lr 0.01 for 100
epochs (their defaults; the epoch again chosen on the held-out snapshot). PyGOD's DOMINANT and AnomalyDAE
are unsupervised and transductive, so they are fitted on each test snapshot itself with their authors' defaults.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from services.graph.batch import GraphBatch
from services.graph.experiments import Split, detection_metrics

__all__ = ["BetaWaveletGNN", "SupervisedGNN", "beta_wavelet_coefficients", "fit_supervised", "pygod_scorer"]

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


def beta_wavelet_coefficients(order: int) -> list[np.ndarray]:
    """Power-series coefficients (``order + 1`` each, ascending) of the ``order + 1`` Beta wavelets.

    Wavelet ``i`` is ``β_i(λ) = (λ/2)^i (1 − λ/2)^(order − i) / B(i + 1, order + 1 − i)`` on the normalised
    Laplacian's spectrum ``λ ∈ [0, 2]``: ``i = 0`` is the low-pass filter, ``i = order`` the high-pass one.
    """
    from numpy.polynomial import polynomial
    from scipy.special import beta

    filters = []
    for i in range(order + 1):
        rising = polynomial.polypow([0.0, 0.5], i)  # (λ/2)^i
        falling = polynomial.polypow([1.0, -0.5], order - i)  # (1 − λ/2)^(order − i)
        coefficients = polynomial.polymul(rising, falling) / beta(i + 1, order + 1 - i)
        filters.append(np.pad(coefficients, (0, order + 1 - coefficients.size)))
    return filters


class BetaWaveletGNN(nn.Module):
    """BWGNN: features ``(N, F)`` and edges ``(2, E)`` → logits ``(N,)`` through Beta-wavelet filters.

    ``h = MLP(x)``; filter ``i`` gives ``Σ_k θ_ik L^k h`` with ``L = I − D^-1/2 A D^-1/2``; the ``order + 1``
    filtered signals ``(N, hidden)`` are concatenated and mapped to a logit by a two-layer head.
    """

    def __init__(self, in_dim: int, hidden: int = 64, order: int = 2) -> None:
        super().__init__()
        self.theta = torch.tensor(np.stack(beta_wavelet_coefficients(order)), dtype=torch.float32)
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(hidden * (order + 1), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    @staticmethod
    def _laplacian(edge_index: Tensor, n: int) -> Tensor:
        """Sparse ``(N, N)`` normalised Laplacian of the undirected simple graph."""
        src, dst = torch.cat([edge_index, edge_index.flip(0)], 1)
        keep = src != dst
        pairs = torch.unique(torch.stack([src[keep], dst[keep]]), dim=1)
        degree = torch.zeros(n).index_add_(0, pairs[0], torch.ones(pairs.shape[1]))
        scale = degree.clamp_min(1).rsqrt()
        weights = -scale[pairs[0]] * scale[pairs[1]]
        diagonal = torch.arange(n)
        indices = torch.cat([pairs, torch.stack([diagonal, diagonal])], 1)
        values = torch.cat([weights, torch.ones(n)])  # an isolated node keeps L h = h, as in the authors' code
        return torch.sparse_coo_tensor(indices, values, (n, n), check_invariants=True).coalesce()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = self.encoder(x)
        laplacian = self._laplacian(edge_index, x.shape[0])
        powers = [h]
        for _ in range(self.theta.shape[1] - 1):
            powers.append(torch.sparse.mm(laplacian, powers[-1]))
        stacked = torch.stack(powers)  # (order + 1, N, hidden): L^k h
        filtered = [torch.einsum("k,knh->nh", weights, stacked) for weights in self.theta]
        return self.head(torch.cat(filtered, 1)).squeeze(1)


def _peer_model(kind: str, in_dim: int) -> nn.Module:
    return BetaWaveletGNN(in_dim) if kind == "BWGNN" else SupervisedGNN(kind, in_dim)


def fit_supervised(kind: str, parts: Split, seed: int, max_epochs: int = 300, lr: float = 3e-3) -> Scorer:
    """Train ``kind`` ("GCN" / "GAT" / "BWGNN") on ``parts.fit``; return the scorer at the best validation epoch."""
    torch.manual_seed(seed)
    fit = parts.fit
    fitted = torch.from_numpy(fit.target_nodes)
    x = torch.from_numpy(fit.x)
    mean, std = x[fitted].mean(0), x[fitted].std(0).clamp_min(1e-6)
    labels = torch.from_numpy((fit.y[fit.target_nodes] > 0).astype(np.float32))
    model = _peer_model(kind, x.shape[1])
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
