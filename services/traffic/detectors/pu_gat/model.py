"""PU-GAT+: a graph-attention forecaster whose attention is confidence-monotonic in neighbours' uncertainty.

Stage 1 encodes each sensor's recent history (plus a learned sensor embedding) and predicts a first mean and
log-scale per feature. Stage 2 attends over graph neighbours with logits ``q_i·k_j / sqrt(D) - softplus(λ)·u_j``
where ``u_j`` is neighbour ``j``'s stage-1 log-uncertainty: with content fixed, a more uncertain neighbour
never gets more weight (confidence-monotonic). Both stages are trained with the Gaussian negative log-likelihood;
the mean is a correction to persistence (the last reading).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["PUGATPlus"]


class PUGATPlus(nn.Module):
    """Forecast ``(B, N, F)`` means and log-scales from histories ``(B, L, N, F)`` (normalized readings)."""

    def __init__(self, n_nodes: int, n_features: int, lags: int, hidden: int = 32, embed: int = 8) -> None:
        super().__init__()
        self.n_features, self.hidden = n_features, hidden
        self.node_embedding = nn.Parameter(torch.randn(n_nodes, embed) * 0.1)
        self.encoder = nn.Sequential(nn.Linear(lags * n_features + embed, hidden), nn.GELU(),
                                     nn.Linear(hidden, hidden), nn.GELU())
        self.head0 = nn.Linear(hidden, 2 * n_features)
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.uncertainty_weight = nn.Parameter(torch.tensor(0.5))  # λ before softplus
        self.mix = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU())
        self.head = nn.Linear(hidden, 2 * n_features)

    def attention(self, h: torch.Tensor, uncertainty: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Weights ``(B, N, N)`` from states ``(B, N, D)``, uncertainties ``(B, N)``, neighbour mask ``(N, N)``."""
        logits = self.query(h) @ self.key(h).transpose(1, 2) / math.sqrt(self.hidden)
        logits = logits - nn.functional.softplus(self.uncertainty_weight) * uncertainty[:, None, :]
        return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)

    def forward(self, history: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """``history`` ``(B, L, N, F)``, ``mask`` ``(N, N)`` bool with self-loops → ``mean``/``log_scale``
        ``(B, N, F)`` (final), ``mean0``/``log_scale0`` (stage 1) and ``attention`` ``(B, N, N)``."""
        b, lags, n, f = history.shape
        flat = history.permute(0, 2, 1, 3).reshape(b, n, lags * f)
        h = self.encoder(torch.cat([flat, self.node_embedding.expand(b, -1, -1)], dim=-1))
        last = history[:, -1]
        out0 = self.head0(h)
        mean0, log_scale0 = last + out0[..., :f], out0[..., f:].clamp(-6.0, 4.0)
        weights = self.attention(h, log_scale0.mean(-1).detach(), mask)
        message = weights @ self.value(h)
        z = h + self.mix(torch.cat([h, message], dim=-1))
        out = self.head(z)
        return {"mean": last + out[..., :f], "log_scale": out[..., f:].clamp(-6.0, 4.0), "mean0": mean0,
                "log_scale0": log_scale0, "attention": weights}

    @staticmethod
    def loss(outputs: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        """Gaussian NLL of the final forecast plus half that of stage 1; ``target`` ``(B, N, F)``."""
        def nll(mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
            return (0.5 * ((target - mean) * torch.exp(-log_scale)) ** 2 + log_scale).mean()

        return nll(outputs["mean"], outputs["log_scale"]) + 0.5 * nll(outputs["mean0"], outputs["log_scale0"])
