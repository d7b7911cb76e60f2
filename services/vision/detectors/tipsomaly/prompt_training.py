"""Training Tipsomaly's pixel-level prompts on an auxiliary annotated set (the zero-shot protocol).

The method learns only the pixel-level context vectors, on images *of other categories* with defect masks
(the published protocol trains on one data set, e.g. MVTec AD, and tests zero-shot on another, e.g. VisA);
the image-level prompts stay the fixed handwritten ensembles (decoupled prompts), the VLM stays frozen.
Loss (the segmentation objective of the authors' training script): focal loss over the two-state
per-pixel softmax, plus Dice of the anomalous map against the mask and of the normal map against its
complement. Adam, lr 1e-3, betas (0.5, 0.999), as there. Patch embeddings are computed once (frozen tower).

Shapes: ``N`` images, ``g`` patch grid, ``E`` joint width, ``S`` model resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.core.errors import InvalidInputError

__all__ = ["PromptTrainingResult", "dice_loss", "focal_loss", "segmentation_loss", "train_pixel_context"]


@dataclass(frozen=True)
class PromptTrainingResult:
    """Mean loss per epoch and what was seen."""

    epoch_losses: list[float]
    n_images: int
    anomalous_pixel_fraction: float


def focal_loss(probabilities: Tensor, mask: Tensor, gamma: float = 2.0) -> Tensor:
    """Focal loss of per-pixel two-state probabilities ``(N, 2, S, S)`` against a 0/1 ``mask`` ``(N, S, S)``."""
    target = probabilities.gather(1, mask.long()[:, None]).squeeze(1).clamp_min(1e-6)
    return (-(1.0 - target) ** gamma * target.log()).mean()


def dice_loss(probability: Tensor, mask: Tensor, eps: float = 1.0) -> Tensor:
    """``1 - Dice`` of a soft map ``(N, S, S)`` and a 0/1 ``mask`` ``(N, S, S)`` (smoothed by ``eps``)."""
    inter = (probability * mask).flatten(1).sum(1)
    total = probability.flatten(1).sum(1) + mask.flatten(1).sum(1)
    return (1.0 - (2.0 * inter + eps) / (total + eps)).mean()


def segmentation_loss(probabilities: Tensor, mask: Tensor) -> Tensor:
    """Focal over both states + Dice(anomalous, mask) + Dice(normal, 1 - mask); ``(N, 2, S, S)``, ``(N, S, S)``."""
    return (focal_loss(probabilities, mask) + dice_loss(probabilities[:, 1], mask)
            + dice_loss(probabilities[:, 0], 1.0 - mask))


def _masks(masks: np.ndarray, n: int, size: tuple[int, int]) -> Tensor:
    """0/1 masks ``(N, H, W)`` (bool or numbers, > 0.5 anomalous) resized to ``size`` (nearest)."""
    if masks.ndim != 3 or len(masks) != n:
        raise InvalidInputError(f"masks must be (N, H, W) with N = {n} images, got {masks.shape}", "masks")
    m = torch.from_numpy((np.asarray(masks, np.float32) > 0.5).astype(np.float32))[:, None]
    return F.interpolate(m, size=size, mode="nearest")[:, 0]


def train_pixel_context(patch_emb: Tensor, masks: np.ndarray, prompts: torch.nn.Module, temperature: float,
                        epochs: int, batch_size: int = 8, lr: float = 1e-3, seed: int = 0) -> PromptTrainingResult:
    """Fit ``prompts.context`` so the pixel-level text pair segments ``masks``; the VLM stays frozen.

    ``patch_emb`` ``(N, g, g, E)``: the frozen image tower's patch embeddings; ``masks`` ``(N, H, W)``;
    ``prompts``: a :class:`~services.vision.detectors.tipsomaly.head.DecoupledPrompts`.
    """
    n, g = patch_emb.shape[0], patch_emb.shape[1]
    target = _masks(masks, n, (g * 4, g * 4))  # the loss at 4x the patch grid, as the maps are upsampled
    patches = F.normalize(patch_emb.detach(), dim=-1)
    optimiser = torch.optim.Adam([prompts.context], lr=lr, betas=(0.5, 0.999))
    order = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    with torch.inference_mode(False), torch.enable_grad():
        for _ in range(epochs):
            total, batches = 0.0, 0
            for index in torch.randperm(n, generator=order).split(batch_size):
                logits = patches[index] @ prompts.pixel_text().T / temperature  # (b, g, g, 2)
                maps = F.interpolate(logits.permute(0, 3, 1, 2), size=target.shape[-2:], mode="bilinear",
                                     align_corners=False).softmax(1)
                loss = segmentation_loss(maps, target[index])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, batches = total + float(loss), batches + 1
            losses.append(total / max(batches, 1))
    return PromptTrainingResult(losses, n, float(target.mean()))
