"""``polyad.vision.v1.VisionService``: decode → backend → encode."""

from __future__ import annotations

from typing import Any

import numpy as np
from grpc import aio

from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError, LimitExceededError
from services.core.models import LoadedModel
from services.core.responses import RULES_BY_NAME
from services.core.servicing import DomainServicer
from services.core.training import chronological_split
from services.vision.codec import decode_image, resize_image, resize_map
from services.vision.config import VisionSettings
from services.vision.heatmap import heatmap_png

__all__ = ["VisionServicer"]


class VisionServicer(DomainServicer, pb_grpc.VisionServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: VisionSettings

    def _size(self, model: LoadedModel | None) -> int:
        shape = model.metadata.input_spec.shape if model is not None else []
        return shape[1] if len(shape) == 4 and shape[1] > 0 else self.settings.image_size

    def _decode_all(self, images: list[pb.Image], limit: int) -> list[np.ndarray]:
        if not images:
            raise InvalidInputError("images is empty; expected at least one image", "images")
        if len(images) > limit:
            raise LimitExceededError(f"{len(images)} images in one request; the limit is {limit}", "images")
        return [decode_image(image, f"images[{i}]", self.settings.max_pixels) for i, image in enumerate(images)]

    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        originals = self._decode_all(list(request.images), self.settings.max_images_per_request)
        model = await self.models.get(request.model)
        size = self._size(model)
        batch = np.stack([resize_image(image, size) for image in originals])
        scores, maps = await model.backend.score_and_explain(batch)
        decided = self.decide(model, scores, request.policy)
        p_values, decision = decided.p_values, decided.decision
        high = float(np.quantile(model.calibrator.scores_, 0.99))
        response = pb.DetectResponse(
            rule=RULES_BY_NAME[decision.rule.value], alpha=decision.alpha, p_value_threshold=decision.threshold
        )
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        low = float(np.min(maps))
        for index, (message, image) in enumerate(zip(request.images, originals, strict=True)):
            full_map = resize_map(maps[index], *image.shape[:2])
            result = pb.ImageResult(
                id=message.id or str(index),
                score=float(scores[index]),
                p_value=float(p_values[index]),
                anomalous=bool(decision.anomalous[index]),
            )
            if not request.omit_anomaly_map:
                result.anomaly_map.CopyFrom(from_numpy(full_map))
            if request.include_heatmap_png:
                result.heatmap_png = heatmap_png(image, full_map, low, max(high, float(full_map.max())))
            response.results.append(result)
        return response

    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        images = self._decode_all(list(request.images), limit=10_000)
        if len(images) < self.settings.min_fit_images:
            raise InvalidInputError(
                f"{len(images)} images; Fit needs at least {self.settings.min_fit_images}", "images"
            )
        size = int(overrides.get("image_size", self.settings.image_size))
        batch = np.stack([resize_image(image, size) for image in images])
        return chronological_split(batch, fraction)

