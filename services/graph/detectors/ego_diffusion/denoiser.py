"""The learned denoiser of the ego-graph diffusion: a small graph transformer on dense ego-graphs.

Given a noisy ego-graph (adjacency ``A_t`` and binned node attributes), the noise level and the
anomaly pattern, it predicts the clean graph: logits of every edge and of every attribute's bin.
Attention is biased by the noisy adjacency and followed by mean message passing along it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["Denoiser"]


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal embedding ``(B, dim)`` of noise levels ``t`` ``(B,)`` in [0, 1]."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half) / half)
    angles = 1000.0 * t[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Block(nn.Module):
    """Adjacency-biased self-attention, mean aggregation over ``A_t``, feed-forward; pre-norm residuals."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.edge_bias = nn.Embedding(2, heads)
        self.message = nn.Linear(hidden, hidden)
        self.ffn = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.SiLU(), nn.Linear(2 * hidden, hidden))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(3))

    def forward(self, h: Tensor, adj: Tensor, mask: Tensor) -> Tensor:
        """``h`` ``(B, n, H)``, ``adj`` ``(B, n, n)`` long, ``mask`` ``(B, n)`` bool → ``(B, n, H)``."""
        b, n, hidden = h.shape
        q, k, v = self.qkv(self.norms[0](h)).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + self.edge_bias(adj).permute(0, 3, 1, 2)
        logits = logits.masked_fill(~mask[:, None, None, :], -1e9)
        attended = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, hidden)
        h = h + self.out(attended)
        a = adj.float()
        h = h + self.message(a @ self.norms[1](h) / a.sum(-1, keepdim=True).clamp_min(1.0))
        return h + self.ffn(self.norms[2](h))


class Denoiser(nn.Module):
    """Predicts clean edges ``(B, n, n, 2)`` and bins ``(B, n, D, K)`` logits from a noisy ego-graph.

    Edge logits are a low-rank bilinear form of the two endpoints' states plus a bias for the noisy edge.
    """

    def __init__(self, channels: int, n_bins: int, n_patterns: int, hidden: int, layers: int, heads: int = 4) -> None:
        super().__init__()
        self.channels, self.n_bins = channels, n_bins
        self.attr_embed = nn.Embedding(channels * n_bins, hidden)
        self.center_embed = nn.Embedding(2, hidden)
        self.pattern_embed = nn.Embedding(n_patterns, hidden)
        self.time_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.blocks = nn.ModuleList(Block(hidden, heads) for _ in range(layers))
        self.rank = hidden // 2
        self.edge_left = nn.Linear(hidden, 2 * self.rank)
        self.edge_right = nn.Linear(hidden, 2 * self.rank)
        self.edge_bias = nn.Embedding(2, 2)
        self.attr_head = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, channels * n_bins))

    def forward(self, bins: Tensor, adj: Tensor, t: Tensor, pattern: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``bins`` ``(B, n, D)``, ``adj`` ``(B, n, n)`` long, ``t``, ``pattern`` ``(B,)``, ``mask`` ``(B, n)``."""
        b, n, d = bins.shape
        offsets = torch.arange(d) * self.n_bins
        h = self.attr_embed(bins + offsets).sum(2) / math.sqrt(d)
        center = torch.zeros(b, n, dtype=torch.long)
        center[:, 0] = 1
        cond = self.time_mlp(time_embedding(t, h.shape[-1])) + self.pattern_embed(pattern)
        h = h + self.center_embed(center) + cond[:, None]
        for block in self.blocks:
            h = block(h, adj, mask)
        left = self.edge_left(h).view(b, n, 2, self.rank)
        right = self.edge_right(h).view(b, n, 2, self.rank)
        edge_logits = torch.einsum("bikr,bjkr->bijk", left, right) / math.sqrt(self.rank) + self.edge_bias(adj)
        edge_logits = (edge_logits + edge_logits.transpose(1, 2)) / 2  # low-rank bilinear, symmetric
        return edge_logits, self.attr_head(h).view(b, n, d, self.n_bins)
