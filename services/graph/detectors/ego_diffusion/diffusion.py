"""Discrete denoising diffusion (D3PM, marginal transitions) over ego-graphs: edges and binned attributes.

Forward process: each edge indicator and each attribute bin is kept with probability ``ᾱ_t`` and
otherwise redrawn from its training marginal (edge density; per-channel bin frequencies), so
``q(x_t | x_0) = ᾱ_t·onehot(x_0) + (1 − ᾱ_t)·m``. The denoiser predicts ``x_0``; sampling runs the exact
posterior ``q(x_{t−1} | x_t, x_0)`` averaged over the prediction, from the marginal prior at ``t = T``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.graph.detectors.ego_diffusion.denoiser import Denoiser

__all__ = ["DenseEgoGraphs", "EgoDiffusion", "connect_to_center"]


@dataclass(frozen=True)
class DenseEgoGraphs:
    """Padded ego-graphs: bins ``(M, n, D)`` long, adj ``(M, n, n)`` long, mask ``(M, n)`` bool, pattern ``(M,)``."""

    bins: Tensor
    adj: Tensor
    mask: Tensor
    pattern: Tensor

    def __len__(self) -> int:
        return int(self.bins.shape[0])

    def take(self, index: Tensor) -> DenseEgoGraphs:
        """The ego-graphs at ``index``."""
        return DenseEgoGraphs(self.bins[index], self.adj[index], self.mask[index], self.pattern[index])


def cosine_schedule(steps: int, s: float = 0.008) -> Tensor:
    """``ᾱ_t`` for ``t = 0..T`` ``(T + 1,)``, from 1 down to ~0."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (f / f[0]).clamp(1e-6, 1.0).float()


def _noise(x0: Tensor, keep: Tensor, marginal: Tensor, generator: torch.Generator) -> Tensor:
    """Keep each entry of ``x0`` with probability ``keep`` (broadcast), else draw from ``marginal`` ``(..., K)``."""
    fresh = torch.multinomial(marginal.expand(*x0.shape, -1).reshape(-1, marginal.shape[-1]), 1,
                              generator=generator).view(x0.shape)
    stay = torch.rand(x0.shape, generator=generator) < keep
    return torch.where(stay, x0, fresh)


def _posterior(p0: Tensor, xt: Tensor, marginal: Tensor, alpha: Tensor, alpha_bar_prev: Tensor) -> Tensor:
    """``p(x_{t−1} | x_t) = Σ_k p0_k q(x_{t−1} | x_t, x_0 = k)``; ``p0`` ``(..., K)``, result ``(..., K)``."""
    k = p0.shape[-1]
    m = marginal.expand(*xt.shape, k)
    likelihood = alpha * F.one_hot(xt, k).float() + (1 - alpha) * m.gather(-1, xt[..., None])  # over x_{t-1}
    prior = alpha_bar_prev * torch.eye(k) + (1 - alpha_bar_prev) * m[..., None, :]  # (..., K0, K)
    post = likelihood[..., None, :] * prior
    post = post / post.sum(-1, keepdim=True).clamp_min(1e-12)
    return (p0[..., :, None] * post).sum(-2)


def connect_to_center(adj: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Symmetric, loop-free copy of ``adj`` ``(n, n)`` in which every node is reachable from node 0."""
    adj = adj | adj.T
    np.fill_diagonal(adj, False)
    n = adj.shape[0]
    reached = np.zeros(n, dtype=bool)
    stack = [0]
    reached[0] = True
    while True:
        while stack:
            for u in np.flatnonzero(adj[stack.pop()] & ~reached):
                reached[u] = True
                stack.append(int(u))
        missing = np.flatnonzero(~reached)
        if missing.size == 0:
            return adj
        anchor = int(rng.choice(np.flatnonzero(reached)))
        adj[missing[0], anchor] = adj[anchor, missing[0]] = True
        reached[missing[0]] = True
        stack.append(int(missing[0]))


class EgoDiffusion:
    """The forward process, the training loss and the sampler around a :class:`Denoiser`."""

    def __init__(self, denoiser: Denoiser, steps: int, edge_marginal: Tensor, attr_marginal: Tensor) -> None:
        self.denoiser, self.steps = denoiser, steps
        self.edge_marginal, self.attr_marginal = edge_marginal, attr_marginal  # (2,), (D, K)
        self.alpha_bar = cosine_schedule(steps)

    @staticmethod
    def marginals(data: DenseEgoGraphs, n_bins: int) -> tuple[Tensor, Tensor]:
        """Edge-state frequencies ``(2,)`` over valid pairs and bin frequencies ``(D, K)`` over valid nodes."""
        pair = data.mask[:, :, None] & data.mask[:, None, :] & ~torch.eye(data.mask.shape[1], dtype=torch.bool)
        density = data.adj[pair].float().mean().clamp(0.02, 0.98)
        bins = data.bins[data.mask]  # (V, D)
        counts = F.one_hot(bins, n_bins).float().sum(0) + 0.5
        return torch.stack([1 - density, density]), counts / counts.sum(-1, keepdim=True)

    def _noisy(self, data: DenseEgoGraphs, t: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        keep = self.alpha_bar[t]
        n = data.adj.shape[1]
        upper = torch.triu(_noise(data.adj, keep[:, None, None], self.edge_marginal, generator), diagonal=1)
        adj = (upper + upper.transpose(1, 2)) * (data.mask[:, :, None] & data.mask[:, None, :])
        bins = _noise(data.bins, keep[:, None, None], self.attr_marginal, generator)
        return bins * data.mask[..., None], adj * (1 - torch.eye(n, dtype=torch.long))

    def loss(self, data: DenseEgoGraphs, generator: torch.Generator) -> Tensor:
        """Cross-entropy of the predicted clean graph at a random noise level per ego-graph."""
        t = torch.randint(1, self.steps + 1, (len(data),), generator=generator)
        bins_t, adj_t = self._noisy(data, t, generator)
        edge_logits, attr_logits = self.denoiser(bins_t, adj_t, t.float() / self.steps, data.pattern, data.mask)
        n = data.mask.shape[1]
        pair = data.mask[:, :, None] & data.mask[:, None, :] & torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        edge_loss = F.cross_entropy(edge_logits[pair], data.adj[pair])
        attr_loss = F.cross_entropy(attr_logits[data.mask].reshape(-1, attr_logits.shape[-1]),
                                    data.bins[data.mask].reshape(-1))
        return edge_loss + attr_loss

    @torch.no_grad()
    def sample(self, sizes: Tensor, pattern: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Ego-graphs of ``sizes`` ``(B,)`` nodes → bins ``(B, n, D)`` and raw adjacency ``(B, n, n)`` (padded)."""
        b, n, d = len(sizes), int(sizes.max()), self.attr_marginal.shape[0]
        mask = torch.arange(n)[None] < sizes[:, None]
        valid = (mask[:, :, None] & mask[:, None, :]).long() * (1 - torch.eye(n, dtype=torch.long))
        zeros_bins, zeros_adj = torch.zeros(b, n, d, dtype=torch.long), torch.zeros(b, n, n, dtype=torch.long)
        bins = _noise(zeros_bins, torch.tensor(0.0), self.attr_marginal, generator) * mask[..., None]
        upper = torch.triu(_noise(zeros_adj, torch.tensor(0.0), self.edge_marginal, generator), 1)
        adj = (upper + upper.transpose(1, 2)) * valid
        for step in range(self.steps, 0, -1):
            t = torch.full((b,), step / self.steps)
            edge_logits, attr_logits = self.denoiser(bins, adj, t, pattern, mask)
            alpha = self.alpha_bar[step] / self.alpha_bar[step - 1]
            prev = self.alpha_bar[step - 1]
            p_bins = _posterior(attr_logits.softmax(-1), bins, self.attr_marginal, alpha, prev)
            p_adj = _posterior(edge_logits.softmax(-1), adj, self.edge_marginal, alpha, prev)
            bins = torch.multinomial(p_bins.reshape(-1, p_bins.shape[-1]), 1, generator=generator).view(b, n, d)
            bins = bins * mask[..., None]
            upper = torch.triu(torch.multinomial(p_adj.reshape(-1, 2), 1, generator=generator).view(b, n, n), 1)
            adj = (upper + upper.transpose(1, 2)) * valid
        return bins, adj
