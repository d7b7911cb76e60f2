"""Patch-flow networks (plain torch): neighbor-aware patch features, adapter, position-conditioned flow.

Shapes: ``B`` images, ``C`` backbone channels, ``d`` reduced feature width, ``(h, w)`` the patch grid
(the finest tap used: stride 4 by default), ``N`` flattened patches, ``p`` positional-encoding width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from services.vision.detectors.resampling import to_grid

__all__ = [
    "ActNorm",
    "AffineCoupling",
    "ConditionalFlow",
    "FeatureAdapter",
    "neighbor_aware_features",
    "positional_encoding",
]

LOG_2PI = math.log(2 * math.pi)


def neighbor_aware_features(taps: list[Tensor], neighbourhood: int = 3) -> Tensor:
    """Taps ``[(B, C_i, h_i, w_i)]`` -> ``(B, sum C_i, h_0, w_0)``: each position averaged over its
    ``neighbourhood``² window (PatchCore's local aggregation), coarser taps upsampled to the first."""
    size = taps[0].shape[-2:]
    out = []
    for tap in taps:
        f = F.avg_pool2d(tap, neighbourhood, stride=1, padding=neighbourhood // 2, count_include_pad=False)
        out.append(to_grid(f, size))
    return torch.cat(out, 1)


def positional_encoding(h: int, w: int, dim: int) -> Tensor:
    """Sinusoidal 2-D encoding of normalised (row, column) centres: ``(h * w, dim)``, ``dim % 4 == 0``.

    Frequencies are geometric from 1/2 to 4 cycles across the image, so the code is resolution-free.
    """
    freqs = torch.pi * torch.logspace(0.0, 3.0, dim // 4, base=2.0)  # (dim/4,) rad per image side
    rows = (torch.arange(h, dtype=torch.float32) + 0.5) / h
    cols = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    r = rows[:, None, None] * freqs  # (h, 1, dim/4)
    c = cols[None, :, None] * freqs  # (1, w, dim/4)
    r, c = r.expand(h, w, -1), c.expand(h, w, -1)
    return torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], -1).reshape(h * w, dim)


class FeatureAdapter(nn.Module):
    """Residual linear adapter (a 1x1 convolution on the patch grid): ``y = x + x W^T + b``, ``(N, d) -> (N, d)``.

    It starts as the identity and is trained jointly with the flow; its exact ``log|det(I + W)|`` enters the
    likelihood, so it cannot shrink the features to game the NLL.
    """

    def __init__(self, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(N, d)`` -> adapted ``(N, d)`` and ``log|det J|`` (a scalar, the same for every patch)."""
        matrix = torch.eye(len(self.bias), dtype=x.dtype) + self.weight
        return x @ matrix.T + self.bias, torch.linalg.slogdet(matrix).logabsdet


class ActNorm(nn.Module):
    """Per-feature affine ``z = (x + loc) * exp(log_scale)``; data-initialised to zero mean, unit variance."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(d))
        self.log_scale = nn.Parameter(torch.zeros(d))

    @torch.no_grad()
    def initialise(self, x: Tensor) -> None:
        """Set ``loc``/``log_scale`` from a batch ``(N, d)``."""
        self.loc.copy_(-x.mean(0))
        self.log_scale.copy_(-torch.log(x.std(0) + 1e-6))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(N, d)`` -> ``z (N, d)``, ``log|det J| (N,)``."""
        return (x + self.loc) * self.log_scale.exp(), self.log_scale.sum().expand(len(x))

    def inverse(self, z: Tensor) -> Tensor:
        return z * (-self.log_scale).exp() - self.loc


class AffineCoupling(nn.Module):
    """RealNVP coupling: the first half ``a`` and the condition ``c`` set scale/shift of the second half.

    ``s = clamp * tanh(raw / clamp)`` bounds the log-scale (as CFlow/FastFlow do); the last layer starts
    at zero so every coupling starts as the identity.
    """

    def __init__(self, d: int, cond_dim: int, hidden: int, clamp: float = 2.0) -> None:
        super().__init__()
        self.split, self.clamp = d // 2, clamp
        self.net = nn.Sequential(
            nn.Linear(self.split + cond_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, 2 * (d - self.split)),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _scale_shift(self, a: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        raw_s, t = self.net(torch.cat([a, cond], -1)).chunk(2, -1)
        return self.clamp * torch.tanh(raw_s / self.clamp), t

    def forward(self, x: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        """``x (N, d)``, ``cond (N, p)`` -> ``z (N, d)``, ``log|det J| (N,)``."""
        a, b = x[:, : self.split], x[:, self.split :]
        s, t = self._scale_shift(a, cond)
        return torch.cat([a, b * s.exp() + t], -1), s.sum(-1)

    def inverse(self, z: Tensor, cond: Tensor) -> Tensor:
        a, b = z[:, : self.split], z[:, self.split :]
        s, t = self._scale_shift(a, cond)
        return torch.cat([a, (b - t) * (-s).exp()], -1)


class ConditionalFlow(nn.Module):
    """``steps`` × (ActNorm -> fixed permutation -> affine coupling), conditioned on ``cond (N, p)``."""

    def __init__(self, d: int, cond_dim: int, steps: int, hidden: int, clamp: float, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.norms = nn.ModuleList(ActNorm(d) for _ in range(steps))
        self.couplings = nn.ModuleList(AffineCoupling(d, cond_dim, hidden, clamp) for _ in range(steps))
        self.register_buffer("perms", torch.stack([torch.randperm(d, generator=generator) for _ in range(steps)]))

    @torch.no_grad()
    def initialise(self, x: Tensor, cond: Tensor) -> None:
        """Data-dependent ActNorm initialisation, layer by layer, from a batch ``(N, d)``."""
        for norm, perm, coupling in zip(self.norms, self.perms, self.couplings, strict=True):
            norm.initialise(x)
            x = coupling(norm(x)[0][:, perm], cond)[0]

    def forward(self, x: Tensor, cond: Tensor) -> tuple[Tensor, Tensor]:
        """``x (N, d)`` -> ``z (N, d)`` and the total ``log|det dz/dx| (N,)``."""
        logdet = x.new_zeros(len(x))
        for norm, perm, coupling in zip(self.norms, self.perms, self.couplings, strict=True):
            x, ld_norm = norm(x)
            x, ld_coupling = coupling(x[:, perm], cond)
            logdet = logdet + ld_norm + ld_coupling
        return x, logdet

    def inverse(self, z: Tensor, cond: Tensor) -> Tensor:
        for norm, perm, coupling in zip(
            reversed(self.norms), reversed(self.perms), reversed(self.couplings), strict=True
        ):
            z = coupling.inverse(z, cond)
            z = norm.inverse(z[:, torch.argsort(perm)])
        return z

    def nll(self, x: Tensor, cond: Tensor) -> Tensor:
        """Negative log-likelihood in nats per patch ``(N,)`` under a standard-normal base."""
        z, logdet = self(x, cond)
        return 0.5 * (z.pow(2).sum(-1) + z.shape[-1] * LOG_2PI) - logdet
