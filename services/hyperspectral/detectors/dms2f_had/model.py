"""DMS2F-HAD as a plain ``nn.Module``: spatial and spectral Mamba branches, gated fusion, decoder.

Input: windows ``(N, L, B)`` of normalised spectra around N pixels, centre pixel last (see ``windows.py``).
Output: the reconstructed centre spectrum ``(N, B)``; its squared error is the anomaly score.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from services.hyperspectral.detectors.dms2f_had.ssm import SelectiveSSM

__all__ = ["DMS2FHAD", "GatedFusion", "MambaStack", "SpatialBranch", "SpectralBranch", "band_groups"]


def band_groups(n_bands: int, size: int, stride: int) -> Tensor:
    """Band indices ``(G, size)`` of overlapping groups covering every band (the last group ends at B)."""
    size = min(size, n_bands)
    starts = list(range(0, n_bands - size + 1, stride))
    if starts[-1] != n_bands - size:
        starts.append(n_bands - size)
    return torch.tensor(starts)[:, None] + torch.arange(size)[None, :]


class MambaStack(nn.Module):
    """Pre-norm residual Mamba layers ``(N, L, D) -> (N, L, D)``."""

    def __init__(self, d_model: int, depth: int, d_state: int, d_conv: int, expand: int, backend: str) -> None:
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(depth)])
        self.ssms = nn.ModuleList([SelectiveSSM(d_model, d_state, d_conv, expand, backend) for _ in range(depth)])
        self.out_norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        for norm, ssm in zip(self.norms, self.ssms, strict=True):
            x = x + ssm(norm(x))
        return self.out_norm(x)


class SpatialBranch(nn.Module):
    """Mamba over the window's pixel sequence ``(N, L, B) -> (N, D)``.

    The centre pixel is replaced by a learned mask token (a blind spot), so the branch predicts the
    pixel from its neighbourhood; the feature is the state reached at the centre, the last token.
    """

    def __init__(self, n_bands: int, n_tokens: int, d_model: int, stack: MambaStack) -> None:
        super().__init__()
        self.embed = nn.Linear(n_bands, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(n_tokens, d_model))
        self.mask_token = nn.Parameter(0.02 * torch.randn(d_model))
        self.stack = stack

    def forward(self, windows: Tensor) -> Tensor:
        neighbours = self.embed(windows[:, :-1])  # (N, L-1, D)
        centre = self.mask_token.expand(windows.shape[0], 1, -1)
        tokens = torch.cat([neighbours, centre], dim=1) + self.pos
        return self.stack(tokens)[:, -1]


class SpectralBranch(nn.Module):
    """Mamba over the centre pixel's band-group sequence ``(N, B) -> (N, D)`` through a bottleneck."""

    def __init__(self, n_bands: int, group_size: int, group_stride: int, d_model: int, latent: int,
                 stack: MambaStack) -> None:
        super().__init__()
        self.register_buffer("groups", band_groups(n_bands, group_size, group_stride), persistent=False)
        self.embed = nn.Linear(self.groups.shape[1], d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(self.groups.shape[0], d_model))
        self.stack = stack
        self.bottleneck = nn.Sequential(nn.Linear(d_model, latent), nn.Tanh(), nn.Linear(latent, d_model))

    def forward(self, spectra: Tensor) -> Tensor:
        tokens = self.embed(spectra[:, self.groups]) + self.pos  # (N, G, D)
        return self.bottleneck(self.stack(tokens).mean(dim=1))


class GatedFusion(nn.Module):
    """Input-dependent gate ``g = σ(W[a; b])`` in (0, 1)^D; fused ``g·a + (1-g)·b`` ``(N, D)``."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.gate = nn.Linear(2 * d_model, d_model)

    def forward(self, spatial: Tensor, spectral: Tensor) -> tuple[Tensor, Tensor]:
        gate = torch.sigmoid(self.gate(torch.cat([spatial, spectral], dim=-1)))
        return gate * spatial + (1 - gate) * spectral, gate


class DMS2FHAD(nn.Module):
    """Dual-branch Mamba reconstruction network ``(N, L, B) -> (N, B)``."""

    def __init__(self, n_bands: int, window: int = 5, d_model: int = 32, d_state: int = 8, d_conv: int = 4,
                 expand: int = 2, depth: int = 1, group_size: int = 20, group_stride: int = 10, latent: int = 8,
                 fusion: str = "gate", decoder_hidden: int = 64, backend: str = "auto") -> None:
        super().__init__()
        self.fusion_mode = fusion
        mamba = dict(d_model=d_model, depth=depth, d_state=d_state, d_conv=d_conv, expand=expand, backend=backend)
        self.spatial = SpatialBranch(n_bands, window * window, d_model, MambaStack(**mamba)) \
            if fusion != "spectral" else None
        self.spectral = SpectralBranch(n_bands, group_size, group_stride, d_model, latent, MambaStack(**mamba)) \
            if fusion != "spatial" else None
        self.fusion = GatedFusion(d_model) if fusion == "gate" else None
        self.decoder = nn.Sequential(nn.Linear(d_model, decoder_hidden), nn.GELU(),
                                     nn.Linear(decoder_hidden, decoder_hidden), nn.GELU(),
                                     nn.Linear(decoder_hidden, n_bands))

    def features(self, windows: Tensor) -> tuple[Tensor, Tensor | None]:
        """Fused features ``(N, D)`` and the gate ``(N, D)`` (None without a learned gate)."""
        spa = self.spatial(windows) if self.spatial is not None else None
        spe = self.spectral(windows[:, -1]) if self.spectral is not None else None
        if spa is None or spe is None:
            return (spa if spe is None else spe), None
        if self.fusion is None:
            return 0.5 * (spa + spe), None
        return self.fusion(spa, spe)

    def forward(self, windows: Tensor) -> Tensor:
        """Reconstructed centre spectra ``(N, B)``."""
        return self.decoder(self.features(windows)[0])

    def residuals(self, windows: Tensor) -> Tensor:
        """Reconstruction residuals ``(N, B)``: reconstructed minus observed centre spectrum."""
        return self(windows) - windows[:, -1]

    def errors(self, windows: Tensor) -> Tensor:
        """Per-pixel reconstruction error ``(N,)``: mean squared error over bands."""
        return self.residuals(windows).pow(2).mean(dim=-1)
