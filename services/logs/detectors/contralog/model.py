"""ContraLog networks (plain torch): a message encoder and a banded causal sequence encoder with a cache.

The sequence encoder predicts message ``t``'s embedding from the messages before it: the input at
position ``t`` is message ``t-1`` (``[BOS]`` at the start), attention is causal and limited to the
last ``window`` positions per layer, with a learned bias per head and distance. Each layer's keys and
values of the last ``window - 1`` positions form the cache, so scoring a session in chunks, or line
by line in a stream, gives the same predictions as one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["Cache", "MessageEncoder", "ProjectionEncoder", "SequenceEncoder"]

Cache = tuple[Tensor, Tensor, Tensor]
"""(keys ``(B, L, H, C, dh)``, values ``(B, L, H, C, dh)``, valid ``(B, C)`` bool), ``C = window - 1``."""


class MessageEncoder(nn.Module):
    """Token ids ``(N, T)`` → unit-norm message embeddings ``(N, d)``."""

    def __init__(self, vocab_size: int, d: int, max_tokens: int, layers: int, heads: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, d, padding_idx=0)
        self.positions = nn.Embedding(max_tokens, d)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(layers)
        )
        self.head = nn.Sequential(nn.Linear(2 * d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, ids: Tensor) -> Tensor:
        mask = ids != 0
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x, src_key_padding_mask=~mask)
        weight = mask.unsqueeze(-1).to(x.dtype)
        mean = (x * weight).sum(1) / weight.sum(1).clamp(min=1.0)
        peak = x.masked_fill(~mask.unsqueeze(-1), -1e4).amax(1)
        return F.normalize(self.head(torch.cat([mean, peak], dim=-1)), dim=-1)


class ProjectionEncoder(nn.Module):
    """Frozen sentence features ``(N, F)`` (MiniLM) → unit-norm message embeddings ``(N, d)``."""

    def __init__(self, features: int, d: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Linear(features, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, features: Tensor) -> Tensor:
        return F.normalize(self.head(features), dim=-1)


class _Block(nn.Module):
    """Pre-LN transformer block with banded causal attention over [cache; new positions]."""

    def __init__(self, d: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.distance_bias = nn.Parameter(torch.zeros(heads, window))

    def forward(self, x: Tensor, past_k: Tensor, past_v: Tensor, past_valid: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, t, d = x.shape
        c, h = past_k.shape[2], self.heads
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        keys, values = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)  # (B, H, C+T, dh)
        distance = (torch.arange(t, device=x.device)[:, None] + c) - torch.arange(c + t, device=x.device)[None, :]
        allowed = (distance >= 0) & (distance < self.window)  # (T, C+T)
        valid = torch.cat([past_valid, past_valid.new_ones(b, t)], dim=1)  # (B, C+T)
        bias = self.distance_bias[:, distance.clamp(0, self.window - 1)]  # (H, T, C+T)
        mask = allowed[None, None] & valid[:, None, None, :]
        attn_mask = bias[None].masked_fill(~mask, float("-inf"))
        out = F.scaled_dot_product_attention(q, keys, values, attn_mask=attn_mask)
        x = x + self.proj(out.transpose(1, 2).reshape(b, t, d))
        return x + self.ff(self.norm2(x)), keys, values


class SequenceEncoder(nn.Module):
    """Inputs ``(B, T, d)`` (+ cache) → unit-norm predictions ``(B, T, d)`` of the message at each position."""

    def __init__(self, d: int, layers: int, heads: int, window: int) -> None:
        super().__init__()
        self.d, self.heads, self.window = d, heads, window
        self.blocks = nn.ModuleList(_Block(d, heads, window) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, d)
        self.bos, self.mask, self.eos = (nn.Parameter(0.1 * torch.randn(d)) for _ in range(3))

    def empty_cache(self, batch: int) -> Cache:
        """A cache for ``batch`` fresh sessions."""
        c, dh = self.window - 1, self.d // self.heads
        shape = (batch, len(self.blocks), self.heads, c, dh)
        return torch.zeros(shape), torch.zeros(shape), torch.zeros(batch, c, dtype=torch.bool)

    def eos_target(self) -> Tensor:
        """The unit-norm end-of-session embedding ``(d,)``."""
        return F.normalize(self.eos, dim=-1)

    def forward(self, inputs: Tensor, cache: Cache, lengths: Tensor | None = None) -> tuple[Tensor, Cache]:
        """Predictions for ``inputs`` ``(B, T, d)``; the new cache keeps each row's last ``C`` of ``lengths`` new."""
        past_k, past_v, past_valid = cache
        x, new_k, new_v = inputs, [], []
        for i, block in enumerate(self.blocks):
            x, keys, values = block(x, past_k[:, i], past_v[:, i], past_valid)
            new_k.append(keys)
            new_v.append(values)
        predictions = F.normalize(self.head(self.norm(x)), dim=-1)
        b, t, c = inputs.shape[0], inputs.shape[1], past_valid.shape[1]
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long)
        index = lengths[:, None] + torch.arange(c)[None, :]  # (B, C) positions in [cache; new]
        valid = torch.cat([past_valid, past_valid.new_ones(b, t)], dim=1).gather(1, index)
        keys = torch.stack(new_k, 1)  # (B, L, H, C+T, dh)
        gather = index[:, None, None, :, None].expand(-1, keys.shape[1], keys.shape[2], -1, keys.shape[4])
        new_cache = (keys.gather(3, gather), torch.stack(new_v, 1).gather(3, gather), valid)
        return predictions, new_cache
