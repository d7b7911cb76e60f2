"""A vision detector's scoring as one module (for TorchScript export): images in, scores and maps out.

``VisionScoringGraph(detector)(images)``: uint8 ``(N, S, S, 3)`` RGB at the model's size ``S`` →
scores ``(N,)`` float32 and smoothed anomaly maps ``(N, S, S)`` float32, the same computation as
``VisionDetector.score_and_maps`` for inputs already at ``S`` (the service resizes before scoring).

Only detectors whose ``_raw_maps`` has no batch-size-dependent Python control flow trace correctly;
the backbone taps run in chunks of :data:`MAX_BATCH`, so a traced graph is valid for ``N <= MAX_BATCH``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from services.core.contract import TensorGraph
from services.vision.detectors.base import VisionDetector, gaussian_blur, shared_backbone

__all__ = ["MAX_BATCH", "VisionScoringGraph", "vision_tensor_graph"]

MAX_BATCH = 16
"""Largest batch of a traced graph: ``VisionDetector._taps`` runs the backbone in chunks of 16."""


class VisionScoringGraph(nn.Module):
    """uint8 images ``(N, S, S, 3)`` → scores ``(N,)``, maps ``(N, S, S)`` (float32)."""

    def __init__(self, detector: VisionDetector) -> None:
        super().__init__()
        self.detector = detector
        self.sigma = detector.config.smoothing_sigma
        size = detector.config.image_size or 0
        self.k = max(1, round(detector.config.topk_ratio * size * size))  # as VisionDetector._image_scores
        # register the detector's networks (and the shared backbone) so tracing keeps them as parameters
        owned = (value for value in vars(detector).values() if isinstance(value, nn.Module))
        self.networks = nn.ModuleList([shared_backbone(), *owned])
        self.networks.requires_grad_(False)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        from services.vision.backbone import preprocess

        x = preprocess(images)
        raw = self.detector._raw_maps(x)[:, None]
        up = F.interpolate(raw, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        maps = gaussian_blur(up, self.sigma)
        scores = maps.reshape(maps.shape[0], -1).topk(self.k, dim=1).values.mean(1)
        return scores.float(), maps.float()


def vision_tensor_graph(detector: VisionDetector) -> TensorGraph:
    """The :class:`TensorGraph` of a fitted vision detector with a fixed ``image_size``."""
    size = detector.config.image_size
    if size is None:
        raise ValueError(f"{detector.name}: export needs a fixed image_size (the traced graph has static shapes)")
    example = torch.randint(0, 256, (2, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return TensorGraph(
        module=VisionScoringGraph(detector).eval(),
        example=(example,),
        inputs=(("images", "UINT8", (size, size, 3)),),
        outputs=(("scores", "FP32", ()), ("anomaly_map", "FP32", (size, size))),
        max_batch_size=MAX_BATCH,
    )
