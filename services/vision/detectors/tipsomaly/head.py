"""Tipsomaly's decision head: decoupled prompts and local/global fusion, on top of any :class:`OpenCLIP`.

* **Image level** uses *fixed* handwritten prompts: the mean text embedding of a normal ensemble and of an
  anomalous ensemble (computed once from token ids; never trained).
* **Pixel level** uses *learnable* prompts: ``n_ctx`` context vectors per state spliced into a template's
  token embeddings (after the start token), encoded by the frozen text tower.
* **Fusion**: the image score is the global image-text anomaly probability plus ``fusion_weight`` times the
  largest local (patch) anomaly probability, injecting local evidence into the global score.

Shapes: ``B`` images, ``g`` patch grid, ``E`` joint width, ``W`` text width, ``K`` prompts per ensemble,
``L`` context length.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from services.vision.detectors.tipsomaly.model import OpenCLIP

__all__ = ["DecoupledPrompts", "fuse"]


class DecoupledPrompts(nn.Module):
    """Fixed image-level text embeddings ``(2, E)`` and learnable pixel-level ones ``(2, E)`` (normal, anomalous).

    ``fixed_tokens`` ``(2, K, L)``: token ids of the normal and anomalous handwritten ensembles.
    ``template_tokens`` ``(2, L)``: token ids of the pixel-level templates, whose positions ``1 .. n_ctx`` are
    placeholders replaced by the learnable context vectors.
    """

    def __init__(self, clip: OpenCLIP, fixed_tokens: Tensor, template_tokens: Tensor, n_ctx: int) -> None:
        super().__init__()
        self.clip = [clip]  # frozen and shared: not a submodule, so only the prompts are this module's parameters
        with torch.no_grad():
            states = [F.normalize(clip.encode_text(tokens), dim=-1).mean(0) for tokens in fixed_tokens]
        self.register_buffer("image_text", F.normalize(torch.stack(states), dim=-1))
        self.register_buffer("template_tokens", template_tokens.clone())
        self.n_ctx = n_ctx
        width = clip.token_embedding.embedding_dim
        self.context = nn.Parameter(0.02 * torch.randn(2, n_ctx, width, generator=torch.Generator().manual_seed(0)))

    def pixel_text(self) -> Tensor:
        """Normalised pixel-level text embeddings ``(2, E)`` from the learnable context vectors."""
        clip = self.clip[0]
        embedded = clip.token_embedding(self.template_tokens)  # (2, L, W)
        embedded = torch.cat([embedded[:, :1], self.context, embedded[:, 1 + self.n_ctx:]], 1)
        return F.normalize(clip.encode_text_embeddings(embedded, self.template_tokens.argmax(-1)), dim=-1)


def fuse(global_emb: Tensor, patch_emb: Tensor, image_text: Tensor, pixel_text: Tensor, out_size: tuple[int, int],
         fusion_weight: float = 0.5, temperature: float = 0.01) -> tuple[Tensor, Tensor]:
    """Global ``(B, E)`` and patch ``(B, g, g, E)`` embeddings -> image scores ``(B,)`` and maps ``(B, H, W)``.

    Maps: the anomalous-state softmax probability of each patch against the pixel-level text pair, bilinearly
    upsampled to ``out_size``. Scores: the global anomalous probability against the image-level (fixed) pair,
    plus ``fusion_weight`` times the map's maximum.
    """
    patches = F.normalize(patch_emb, dim=-1) @ pixel_text.T / temperature  # (B, g, g, 2)
    local = patches.softmax(-1)[..., 1]
    maps = F.interpolate(local[:, None], size=out_size, mode="bilinear", align_corners=False)[:, 0]
    global_prob = (F.normalize(global_emb, dim=-1) @ image_text.T / temperature).softmax(-1)[:, 1]
    return global_prob + fusion_weight * local.flatten(1).amax(1), maps
