"""The BWGNN peer of ``bench/graph.py``: Beta-wavelet filters and the spectral propagation they drive."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from scipy.special import beta

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from graph_peers import BetaWaveletGNN, beta_wavelet_coefficients


def test_beta_wavelets_match_their_closed_form_and_pass_low_to_high_bands() -> None:
    order, grid = 2, np.linspace(0.0, 2.0, 41)
    filters = beta_wavelet_coefficients(order)
    assert len(filters) == order + 1
    for i, coefficients in enumerate(filters):
        closed = (grid / 2) ** i * (1 - grid / 2) ** (order - i) / beta(i + 1, order + 1 - i)
        np.testing.assert_allclose(np.polynomial.polynomial.polyval(grid, coefficients), closed, atol=1e-12)
    peaks = [grid[np.argmax(np.polynomial.polynomial.polyval(grid, c))] for c in filters]
    assert peaks == sorted(peaks) and peaks[0] == 0.0 and peaks[-1] == 2.0  # low-pass … high-pass


def test_sparse_laplacian_equals_the_dense_normalised_laplacian() -> None:
    edges = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 3, 3, 1]])  # duplicates, both directions, a self-loop
    n = 5  # node 4 is isolated
    adjacency = np.zeros((n, n))
    for s, d in edges.T.tolist():
        if s != d:
            adjacency[s, d] = adjacency[d, s] = 1.0
    degree = adjacency.sum(1)
    scale = np.where(degree > 0, 1 / np.sqrt(np.maximum(degree, 1)), 1.0)
    dense = np.eye(n) - scale[:, None] * adjacency * scale[None, :]
    np.testing.assert_allclose(BetaWaveletGNN._laplacian(edges, n).to_dense().numpy(), dense, atol=1e-6)


def test_bwgnn_gives_one_logit_per_node_and_trains() -> None:
    torch.manual_seed(0)
    x, edges = torch.randn(30, 4), torch.randint(0, 30, (2, 80))
    model = BetaWaveletGNN(4, hidden=8)
    logits = model(x, edges)
    assert logits.shape == (30,)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
