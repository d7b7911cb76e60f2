"""CRFN's residual flow: a RealNVP density over a sensor's normalized residuals and its neighbourhood's.

Each cell is described by ``[z_i, mean_{j ~ i} z_j]`` (``2F`` values): its own uncertainty-normalized residuals
and the mean of its graph neighbours'. The flow learns their joint law on normal data; the anomaly score is the
negative log-density, so a residual that breaks the usual own/neighbour pattern (an incident spreading along the
road, or a lone sensor disagreeing with its neighbours) scores high.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ResidualFlow"]


class _Coupling(nn.Module):
    """Affine coupling: the masked half conditions a scale/shift of the other half."""

    def __init__(self, dim: int, hidden: int, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, 2 * dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale, shift = self.net(x * self.mask).chunk(2, dim=-1)
        scale = torch.tanh(scale) * (1 - self.mask)
        y = x * self.mask + (1 - self.mask) * (x * torch.exp(scale) + shift)
        return y, scale.sum(-1)


class ResidualFlow(nn.Module):
    """Density of ``(M, D)`` residual vectors; ``nll`` gives ``(M,)`` negative log-likelihoods (nats)."""

    def __init__(self, dim: int, hidden: int = 32, layers: int = 4) -> None:
        super().__init__()
        masks = [(torch.arange(dim) % 2 == k % 2).float() for k in range(layers)]
        self.layers = nn.ModuleList(_Coupling(dim, hidden, m) for m in masks)
        self.register_buffer("loc", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))

    def nll(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-density ``(M,)`` of ``x`` ``(M, D)``, standardized by the fitted loc/scale first."""
        z = (x - self.loc) / self.scale
        log_det = -torch.log(self.scale).sum().expand(z.shape[0])
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
        return 0.5 * (z**2).sum(-1) + 0.5 * z.shape[-1] * math.log(2 * math.pi) - log_det
