"""REST routes of the vision modality: image files uploaded as multipart form data."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import Adapter, TensorMeta
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.vision.v1 import vision_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "ImageResultOut", "VisionDetectOut", "add_routes"]

MAX_FILES = 64


class ImageResultOut(BaseModel):
    """One image's result."""

    id: str
    score: float
    p_value: float
    anomalous: bool
    heatmap_png_base64: str | None = None
    anomaly_map: list[list[float]] | None = None


class VisionDetectOut(BaseModel):
    """The vision service's answer."""

    service: str
    model: dict[str, str]
    rule: str
    p_value_threshold: float
    results: list[ImageResultOut]


IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    "required": ["files"],
                }
            }
        },
    }
}


async def _read_images(request: Request) -> list[vision_pb2.Image]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInputError("expected multipart/form-data with one or more `files` fields (PNG or JPEG)")
    async with request.form(max_files=MAX_FILES, max_fields=16) as form:
        uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
        if not uploads:
            raise InvalidInputError("no `files` field in the form; expected one or more PNG or JPEG files")
        return [vision_pb2.Image(id=upload.filename or str(i), encoded=await upload.read())
                for i, upload in enumerate(uploads)]


def vision_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON body for a vision answer (maps as nested lists only when the service sent them)."""
    answer = response.vision
    results = []
    for result in answer.results:
        item: dict[str, Any] = {"id": result.id, "score": result.score, "p_value": result.p_value,
                                "anomalous": result.anomalous}
        if result.heatmap_png:
            item["heatmap_png_base64"] = base64.b64encode(result.heatmap_png).decode()
        if result.anomaly_map.ByteSize():
            item["anomaly_map"] = to_numpy(result.anomaly_map).round(5).tolist()
        results.append(item)
    return {
        "service": response.service,
        "model": {"detector": answer.model.detector, "version": answer.model.version},
        "rule": common_pb2.DecisionRule.Name(answer.rule),
        "p_value_threshold": answer.p_value_threshold,
        "results": results,
    }


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/vision/detect`` (multipart image upload)."""

    @app.post(
        "/v1/vision/detect",
        tags=["vision"],
        response_model=VisionDetectOut,
        summary="Score uploaded images (multipart fields `files`: PNG or JPEG); heat maps on request.",
        openapi_extra=IMAGE_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def vision_detect(
        request: Request,
        rule: Annotated[schemas.Rule, Query(description="Decision rule over the batch.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        heatmap: Annotated[bool, Query(description="Return a PNG heat-map overlay per image.")] = False,
        include_map: Annotated[bool, Query(description="Return the anomaly map as nested lists.")] = False,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get("vision")  # fail fast when not routed, before reading the upload
        message = vision_pb2.DetectRequest(
            images=await _read_images(request),
            model=common_pb2.ModelRef(detector=detector, version=version),
            policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
            include_heatmap_png=heatmap,
            omit_anomaly_map=not include_map,
        )
        return JSONResponse(vision_json(await dataplane.forward(route, message, timeout)))


class ImageAdapter(Adapter):
    """RGB images ``(N, H, W, 3)`` uint8 → scores, p-values, flags ``(N,)`` and maps ``(N, H, W)``."""

    modality = "vision"

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("images", "UINT8", (-1, -1, -1, 3)),)  # the service resizes to the model's size

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)), TensorMeta("anomaly_map", "FP32", (-1, -1, -1)))

    def request(self, inputs, model, policy, wanted) -> vision_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        images = inputs["images"]
        if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
            raise InvalidInputError(f"input 'images': expected shape [N, H, W, 3], got {list(images.shape)}", "images")
        return vision_pb2.DetectRequest(
            images=[vision_pb2.Image(id=str(i), pixels=from_numpy(image)) for i, image in enumerate(images)],
            model=model, policy=policy, omit_anomaly_map="anomaly_map" not in wanted,
        )

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.vision
        out = {
            "scores": np.array([r.score for r in answer.results], dtype=np.float32),
            "p_values": np.array([r.p_value for r in answer.results], dtype=np.float64),
            "anomalous": np.array([r.anomalous for r in answer.results], dtype=np.bool_),
        }
        if answer.results and answer.results[0].anomaly_map.ByteSize():
            out["anomaly_map"] = np.stack([to_numpy(r.anomaly_map) for r in answer.results])
        return answer.model, out


ADAPTER = ImageAdapter()
