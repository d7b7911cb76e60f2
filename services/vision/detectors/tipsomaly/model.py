"""OpenCLIP ViT-family vision-language model in plain torch (parameter names follow OpenCLIP's checkpoints).

Only the pieces zero-shot anomaly detection needs: the image tower returns the global embedding and the
projected patch embeddings; the text tower encodes token ids, or token *embeddings* (so learnable prompt
vectors can replace some word embeddings). No weights ship with this module: see ``checkpoint.py``.

Shapes: ``B`` images, ``g`` the patch grid side (``image_size // patch_size``), ``W`` a tower's width,
``E`` the joint embedding width, ``T`` prompts, ``L`` the context length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["CLIPConfig", "OpenCLIP", "TextTransformer", "VisionTransformer"]


@dataclass(frozen=True)
class CLIPConfig:
    """Architecture of an OpenCLIP ViT model (defaults: ViT-B-16)."""

    embed_dim: int = 512
    image_size: int = 224
    patch_size: int = 16
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    mlp_ratio: float = 4.0


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``; ``(B, N, W) -> (B, N, W)``."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, hidden))
        self.mlp.add_module("gelu", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(hidden, width))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``layers`` residual attention blocks (OpenCLIP names them ``resblocks.<i>``)."""

    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    """ViT image tower: ``(B, 3, S, S)`` -> global ``(B, E)`` and patch embeddings ``(B, g, g, E)``."""

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        width, grid = cfg.vision_width, cfg.image_size // cfg.patch_size
        scale = width**-0.5
        self.grid = grid
        self.conv1 = nn.Conv2d(3, width, cfg.patch_size, stride=cfg.patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, cfg.vision_layers, cfg.vision_heads, cfg.mlp_ratio)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, cfg.embed_dim))

    def _positions(self, grid: int) -> Tensor:
        """Positional embeddings ``(1 + grid², W)``, bicubically resized when the input grid differs."""
        if grid == self.grid:
            return self.positional_embedding
        cls, patches = self.positional_embedding[:1], self.positional_embedding[1:]
        patches = patches.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        patches = F.interpolate(patches, size=(grid, grid), mode="bicubic", align_corners=False)
        return torch.cat([cls, patches.permute(0, 2, 3, 1).reshape(grid * grid, -1)])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv1(x)  # (B, W, g, g)
        b, w, g, _ = x.shape
        x = x.flatten(2).transpose(1, 2)  # (B, g², W)
        x = torch.cat([self.class_embedding.expand(b, 1, w), x], 1) + self._positions(g)
        x = self.ln_post(self.transformer(self.ln_pre(x))) @ self.proj  # (B, 1 + g², E)
        return x[:, 0], x[:, 1:].reshape(b, g, g, -1)


class TextTransformer(nn.Module):
    """Causal text tower: token ids ``(T, L)`` (or embeddings ``(T, L, W)``) -> text embeddings ``(T, E)``.

    The embedding of a sequence is read at its end-of-text token, which has the largest id in CLIP's
    vocabulary (so ``argmax`` of the ids finds it).
    """

    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(cfg.context_length, cfg.text_width))
        self.transformer = Transformer(cfg.text_width, cfg.text_layers, cfg.text_heads, cfg.mlp_ratio)
        self.ln_final = nn.LayerNorm(cfg.text_width)
        self.text_projection = nn.Parameter(cfg.text_width**-0.5 * torch.randn(cfg.text_width, cfg.embed_dim))
        mask = torch.full((cfg.context_length, cfg.context_length), float("-inf")).triu(1)
        self.register_buffer("attn_mask", mask, persistent=False)

    def encode_embeddings(self, embeddings: Tensor, eot_index: Tensor) -> Tensor:
        """Token embeddings ``(T, L, W)`` and end-of-text positions ``(T,)`` -> ``(T, E)``."""
        length = embeddings.shape[1]
        x = self.transformer(embeddings + self.positional_embedding[:length], self.attn_mask[:length, :length])
        x = self.ln_final(x)
        return x[torch.arange(len(x)), eot_index] @ self.text_projection

    def forward(self, tokens: Tensor) -> Tensor:
        return self.encode_embeddings(self.token_embedding(tokens), tokens.argmax(-1))


class OpenCLIP(nn.Module):
    """Image and text towers plus ``logit_scale`` (OpenCLIP's top-level layout: ``visual.*`` and the text keys)."""

    def __init__(self, cfg: CLIPConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or CLIPConfig()
        self.visual = VisionTransformer(self.cfg)
        text = TextTransformer(self.cfg)
        # OpenCLIP keeps the text tower's parts at the top level; so do we (state-dict keys match).
        self.token_embedding, self.positional_embedding = text.token_embedding, text.positional_embedding
        self.transformer, self.ln_final, self.text_projection = text.transformer, text.ln_final, text.text_projection
        self.register_buffer("attn_mask", text.attn_mask, persistent=False)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))
        self._text = [text]  # not a submodule: its parameters are registered above

    def encode_image(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised images ``(B, 3, S, S)`` -> global ``(B, E)`` and patch ``(B, g, g, E)`` embeddings."""
        return self.visual(images)

    def encode_text(self, tokens: Tensor) -> Tensor:
        """Token ids ``(T, L)`` -> text embeddings ``(T, E)``."""
        return self._text[0](tokens)

    def encode_text_embeddings(self, embeddings: Tensor, eot_index: Tensor) -> Tensor:
        """Token embeddings ``(T, L, W)`` (learnable prompt vectors spliced in) -> ``(T, E)``."""
        return self._text[0].encode_embeddings(embeddings, eot_index)
