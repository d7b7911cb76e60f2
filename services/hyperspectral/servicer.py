"""``polyad.hyperspectral.v1.HyperspectralService``: decode → backend → encode, nothing more.

Pixel p-values are conformal against held-out background pixels' scores (the model's calibrator): a Fit
cube's bottom rows (``calibration_fraction``, a spatial block never fitted), or for the default model a
second generated background scene (:mod:`services.hyperspectral.defaults`). The request's rule decides
pixels (``alpha`` per pixel, BH / BY across the cube's pixels); the scene summary adds Simes' scene p-value.
"""

from __future__ import annotations

import asyncio

import numpy as np
from grpc import aio

from polyad.common.v1 import common_pb2
from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
from polyad.hyperspectral.v1 import hyperspectral_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.models import LoadedModel
from services.core.servicing import DomainServicer
from services.core.training import fit_options
from services.hyperspectral.config import HyperspectralSettings
from services.hyperspectral.serving import (
    check_cube,
    composite_bands,
    decode_cube,
    overlay_png,
    scene_p_value,
    split_rows,
)

__all__ = ["HyperspectralServicer"]


def _bands(model: LoadedModel) -> int | None:
    shape = model.metadata.input_spec.shape
    return int(shape[-1]) if shape and shape[-1] > 0 else None


class HyperspectralServicer(DomainServicer, pb_grpc.HyperspectralServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: HyperspectralSettings

    async def _cube(self, cube: pb.Cube, bands: int | None) -> tuple[np.ndarray, np.ndarray | None]:
        s = self.settings
        decoded = await decode_cube(cube, s.max_request_bytes, s.max_upload_bytes)
        return check_cube(decoded, s.max_pixels, bands), decoded.wavelengths

    # -- Detect ---------------------------------------------------------------------------
    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        model = await self.models.get(request.model)
        cube, wavelengths = await self._cube(request.cube, _bands(model))
        h, w, b = cube.shape
        scores, _ = await model.backend.score_and_explain(cube)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        decided = self.decide(model, scores, request.policy)
        flags = decided.decision.anomalous
        summary = pb.SceneSummary(flagged_pixels=int(flags.sum()), flagged_fraction=float(flags.mean()),
                                  max_score=float(scores.max()), min_p_value=float(decided.p_values.min()),
                                  anomalous=bool(flags.any()),
                                  scene_p_value=scene_p_value(decided.p_values, decided.decision.rule))
        response = pb.DetectResponse(cube_id=request.cube.id, scores=from_numpy(scores), summary=summary,
                                     bands_used=int(model.metadata.training_summary.get("bands_used", b)))
        if request.omit_pixel_decisions:
            full = decided.proto()
            response.decisions.CopyFrom(common_pb2.Decisions(rule=full.rule, alpha=full.alpha,
                                                             p_value_threshold=full.p_value_threshold))
        else:
            response.decisions.CopyFrom(decided.proto())
        if not request.omit_map:
            response.anomaly_map.CopyFrom(from_numpy(scores.reshape(h, w)))
        if request.include_overlay_png:
            rgb = composite_bands(b, wavelengths, set(model.metadata.training_summary.get("bands_dropped", [])))
            reference = model.calibrator.scores_
            low, high = float(np.quantile(reference, 0.9)), float(np.quantile(reference, 0.999))
            response.overlay_png = await asyncio.to_thread(
                overlay_png, cube, scores.reshape(h, w), rgb, low, max(high, float(scores.max())),
                flags.reshape(h, w), self.settings.overlay_min_side)
            response.composite_bands.extend(rgb)
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    # -- Fit ------------------------------------------------------------------------------
    async def _fit_split(self, request: pb.FitRequest, fraction: float) -> tuple[np.ndarray, np.ndarray]:
        cube, _ = await self._cube(request.cube, None)
        s = self.settings
        return split_rows(cube, fraction, s.min_calibration_rows, s.min_fit_pixels)

    async def Fit(self, request: pb.FitRequest, context: aio.ServicerContext) -> pb.FitResponse:
        overrides, fraction = fit_options(request.config_json, request.calibration_fraction)
        train, calibration = await self._fit_split(request, fraction)
        model = await self.models.fit(request.detector, train, calibration, overrides)
        return pb.FitResponse(model=self.model_info(model))
