"""COMET networks: multi-scale patch encoders, patch decoders and the VQ codebook (plain torch).

Shapes: ``B`` windows, ``C`` channels, ``W`` window length, ``S`` scales, ``p`` a patch size,
``P = W // p`` patches per window, ``d`` embedding width, ``K`` codewords per scale.
Channels are fused into one ``d``-dim embedding per (patch position, scale): each channel's patch
is embedded, attended over the patch axis (temporal dependencies), then attended over the channel
axis (inter-variable correlations; the identity for a univariate series) and mean-pooled.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["CometNet", "PatchDecoder", "PatchEncoder"]


def _attention_layer(d: int, heads: int) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)


class PatchEncoder(nn.Module):
    """Patches ``(B, C, P, p)`` -> fused patch embeddings ``(B, P, d)`` for one scale."""

    def __init__(self, patch: int, n_patches: int, n_channels: int, d: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Linear(patch, d)
        self.position = nn.Parameter(torch.randn(n_patches, d) * 0.02)
        self.channel = nn.Parameter(torch.randn(n_channels, 1, d) * 0.02)
        self.temporal = _attention_layer(d, heads)
        self.variable = _attention_layer(d, heads) if n_channels > 1 else None
        self.fuse = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d))

    def forward(self, patches: Tensor) -> Tensor:
        b, c, n, _ = patches.shape
        h = self.embed(patches) + self.position + self.channel  # (B, C, P, d)
        d = h.shape[-1]
        h = self.temporal(h.reshape(b * c, n, d)).reshape(b, c, n, d).transpose(1, 2)  # (B, P, C, d)
        if self.variable is not None:
            h = self.variable(h.reshape(b * n, c, d)).reshape(b, n, c, d)
        return self.fuse(h.mean(2))


class PatchDecoder(nn.Module):
    """Quantised embeddings ``(B, P, d)`` -> reconstructed patches ``(B, C, P, p)``."""

    def __init__(self, patch: int, n_channels: int, d: int) -> None:
        super().__init__()
        self.patch, self.n_channels = patch, n_channels
        self.net = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, n_channels * patch))

    def forward(self, z: Tensor) -> Tensor:
        b, n, _ = z.shape
        return self.net(z).reshape(b, n, self.n_channels, self.patch).transpose(1, 2)


class CometNet(nn.Module):
    """Encoders, decoders and codebook ``(S, K, d)`` over patch scales ``patch_sizes``."""

    def __init__(
        self, window: int, patch_sizes: tuple[int, ...], n_channels: int, d: int, heads: int, codebook: int
    ) -> None:
        super().__init__()
        self.window, self.patch_sizes = window, tuple(patch_sizes)
        self.encoders = nn.ModuleList(
            PatchEncoder(p, window // p, n_channels, d, heads) for p in self.patch_sizes
        )
        self.decoders = nn.ModuleList(PatchDecoder(p, n_channels, d) for p in self.patch_sizes)
        self.codebook = nn.Parameter(torch.randn(len(self.patch_sizes), codebook, d))
        # Online adapter z -> z + z @ W_s + b_s (identity until adapted at inference; not trained by fit).
        self.register_buffer("adapter_weight", torch.zeros(len(self.patch_sizes), d, d))
        self.register_buffer("adapter_bias", torch.zeros(len(self.patch_sizes), d))

    @staticmethod
    def patchify(windows: Tensor, patch: int) -> Tensor:
        """Windows ``(B, C, W)`` -> non-overlapping patches ``(B, C, W // patch, patch)``."""
        b, c, w = windows.shape
        return windows.reshape(b, c, w // patch, patch)

    def encode(self, windows: Tensor) -> list[Tensor]:
        """Windows ``(B, C, W)`` -> one raw (un-adapted) ``(B, P_s, d)`` embedding tensor per scale."""
        pairs = zip(self.encoders, self.patch_sizes, strict=True)
        return [enc(self.patchify(windows, p)) for enc, p in pairs]

    @staticmethod
    def adapt(z: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        """Apply one scale's online adapter: ``(..., d)`` -> ``z + z @ weight + bias``."""
        return z + z @ weight + bias

    def quantize(self, z: Tensor, scale: int, codebook: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Embeddings ``(N, d)`` -> (distance to nearest codeword ``(N,)``, codeword index ``(N,)``)."""
        book = self.codebook[scale] if codebook is None else codebook
        dist, index = torch.cdist(z, book).min(dim=1)
        return dist, index

    def loss(self, windows: Tensor, commitment: float) -> tuple[Tensor, list[Tensor]]:
        """VQ-VAE objective on windows ``(B, C, W)``: reconstruction + codebook + commitment.

        Returns the scalar loss and the codeword indices used per scale (``(B * P_s,)`` each).
        """
        total = windows.new_zeros(())
        used = []
        for s, (z, p) in enumerate(zip(self.encode(windows), self.patch_sizes, strict=True)):
            flat = z.reshape(-1, z.shape[-1])
            _, index = self.quantize(flat.detach(), s)
            # one-hot matmul instead of indexing: its backward is deterministic on multi-threaded CPU
            e = F.one_hot(index, self.codebook.shape[1]).to(flat.dtype) @ self.codebook[s]
            quantised = (flat + (e - flat).detach()).reshape(z.shape)  # straight-through estimator
            recon = self.decoders[s](quantised)
            total = total + F.mse_loss(recon, self.patchify(windows, p))
            total = total + F.mse_loss(e, flat.detach()) + commitment * F.mse_loss(flat, e.detach())
            used.append(index)
        return total, used
