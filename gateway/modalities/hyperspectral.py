"""REST routes and KServe v2 adapter of the hyperspectral modality: cubes uploaded as files or sent as tensors.

An upload travels to the service as raw bytes (``CubeFile``); the service decodes ``.mat`` / ``.npy`` /
zipped ENVI and checks the cube against the model, so this module knows no cube format.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import Adapter, TensorMeta
from gateway.modalities.shared import is_multipart, read_upload, unpack_answer
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "HyperspectralDetectOut", "add_routes", "hyperspectral_json"]

MODALITY = "hyperspectral"
MAX_FLAGGED = 1000
"""Most flagged pixels listed in the JSON answer (the map and the PNG show all of them)."""


class PixelOut(BaseModel):
    """One flagged pixel."""

    row: int
    col: int
    score: float = Field(description="Raw anomaly score, higher = more anomalous.")
    p_value: float = Field(description="Conformal p-value against held-out background pixels.")


class SummaryOut(BaseModel):
    """Decisions over the whole scene."""

    flagged_pixels: int
    flagged_fraction: float
    max_score: float
    min_p_value: float
    scene_p_value: float = Field(description="Simes' combination of the pixel p-values (×harmonic factor under BY).")
    anomalous: bool = Field(description="At least one pixel flagged under the rule.")


class HyperspectralDetectOut(BaseModel):
    """The hyperspectral service's answer for one uploaded cube."""

    service: str
    model: dict[str, str]
    filename: str
    height: int
    width: int
    bands_used: int = Field(description="Bands the model kept after band subsetting and bad-band removal.")
    rule: str
    p_value_threshold: float
    summary: SummaryOut
    flagged: list[PixelOut] = Field(description=f"Flagged pixels, most anomalous first (at most {MAX_FLAGGED}).")
    anomaly_map: list[list[float]] | None = Field(None, description="Raw scores (H, W), unless map=false.")
    composite_bands: list[int] = Field(default_factory=list, description="Input bands (R, G, B) of the overlay.")
    overlay_png_base64: str | None = Field(None, description="PNG: the map over a false-colour composite, flagged "
                                                            "pixels outlined (unless overlay=false).")


UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "A .mat, .npy, or .zip holding an ENVI .hdr and its data file."}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                            "description": "The file's bytes; name it with ?filename=."}},
}}}


async def _read_upload(request: Request, filename: str, limit: int) -> tuple[str, bytes]:
    """(filename, bytes) of the upload: a multipart ``file`` field or the raw body named by ``filename``."""
    if not is_multipart(request) and not filename:
        raise InvalidInputError("filename is required with a raw body (?filename=scene.mat); its extension "
                                "selects the decoder", "filename")
    data, uploaded = await read_upload(request, limit, "file: the upload exceeds the limit of {limit} bytes",
                                       "file: the upload is empty; expected a .mat, .npy or zipped ENVI cube", "file")
    return filename or uploaded, data


def hyperspectral_json(response: gateway_pb2.DetectResponse, filename: str = "") -> dict[str, Any]:
    """The JSON body of a hyperspectral answer."""
    answer = unpack_answer(response, pb.DetectResponse())
    scores = to_numpy(answer.scores)
    heat = to_numpy(answer.anomaly_map) if answer.anomaly_map.ByteSize() else None
    p_values = to_numpy(answer.decisions.p_values) if answer.decisions.p_values.ByteSize() else None
    flags = to_numpy(answer.decisions.anomalous) if answer.decisions.anomalous.ByteSize() else None
    height, width = (heat.shape if heat is not None else (0, 0))
    flagged = []
    if flags is not None and p_values is not None and width:
        index = np.flatnonzero(flags)
        for i in index[np.argsort(-scores[index], kind="stable")][:MAX_FLAGGED]:
            flagged.append({"row": int(i // width), "col": int(i % width), "score": float(scores[i]),
                            "p_value": float(p_values[i])})
    s = answer.summary
    body: dict[str, Any] = {
        "service": response.service, "model": {"detector": answer.model.detector, "version": answer.model.version},
        "filename": filename, "height": int(height), "width": int(width), "bands_used": answer.bands_used,
        "rule": common_pb2.DecisionRule.Name(answer.decisions.rule),
        "p_value_threshold": answer.decisions.p_value_threshold,
        "summary": {"flagged_pixels": s.flagged_pixels, "flagged_fraction": s.flagged_fraction,
                    "max_score": s.max_score, "min_p_value": s.min_p_value, "scene_p_value": s.scene_p_value,
                    "anomalous": s.anomalous},
        "flagged": flagged, "anomaly_map": heat.round(5).tolist() if heat is not None else None,
        "composite_bands": list(answer.composite_bands),
        "overlay_png_base64": base64.b64encode(answer.overlay_png).decode() if answer.overlay_png else None,
    }
    return body


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/hyperspectral/detect/file`` (a ``.mat`` / ``.npy`` / zipped ENVI upload)."""

    @app.post(
        "/v1/hyperspectral/detect/file",
        tags=[MODALITY],
        response_model=HyperspectralDetectOut,
        summary="Score an uploaded cube (multipart field `file`, or the raw body with ?filename=): per-pixel "
                "scores, flagged pixels, scene summary, and a PNG of the map over a false-colour composite.",
        openapi_extra=UPLOAD_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def hyperspectral_detect_file(
        request: Request,
        filename: Annotated[str, Query(description="File name (its extension selects the decoder); default: the "
                                                    "multipart file's name.")] = "",
        variable: Annotated[str, Query(description="The cube variable of a .mat file; empty = data, hsi, cube, "
                                                   "... or the only 3-D one.")] = "",
        rule: Annotated[schemas.Rule, Query(description="Decision rule over the cube's pixels.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        overlay: Annotated[bool, Query(description="Return the overlay PNG (base64).")] = True,
        include_map: Annotated[bool, Query(alias="map", description="Return the (H, W) anomaly map as nested lists.")
                              ] = True,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get(MODALITY)  # fail fast when not routed, before reading the upload
        name, data = await _read_upload(request, filename, dataplane.settings.max_upload_bytes)
        message = pb.DetectRequest(
            cube=pb.Cube(id=name, file=pb.CubeFile(filename=name, content=data, variable=variable)),  # decoded there
            model=common_pb2.ModelRef(detector=detector, version=version),
            policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
            include_overlay_png=overlay)
        body = hyperspectral_json(await dataplane.forward(route, message, timeout), name)
        if not include_map:
            body["anomaly_map"] = None
        return JSONResponse(body)


class HyperspectralAdapter(Adapter):
    """One cube ``cube`` FP32 ``[H, W, B]`` → ``scores`` FP32 ``[H·W]``, ``anomaly_map`` FP32
    ``[H, W]``, ``p_values`` FP64 and ``anomalous`` BOOL ``[H·W]``."""

    modality = MODALITY

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        bands = int(info.input_shape[-1]) if info is not None and len(info.input_shape) == 3 else -1
        return (TensorMeta("cube", "FP32", (-1, -1, bands)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("anomaly_map", "FP32", (-1, -1)),
                TensorMeta("p_values", "FP64", (-1,)), TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> pb.DetectRequest:  # type: ignore[no-untyped-def]
        cube = inputs["cube"]
        if cube.ndim != 3:
            raise InvalidInputError(f"input 'cube': expected shape [H, W, B], got {list(cube.shape)}", "cube")
        cube = np.asarray(cube, dtype=np.float32)
        return pb.DetectRequest(cube=pb.Cube(tensor=from_numpy(np.ascontiguousarray(cube))), model=model,
                                policy=policy, omit_map="anomaly_map" not in wanted,
                                omit_pixel_decisions=not ({"p_values", "anomalous"} & wanted))

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = unpack_answer(response, pb.DetectResponse())
        out = {"scores": to_numpy(answer.scores)}
        if answer.anomaly_map.ByteSize():
            out["anomaly_map"] = to_numpy(answer.anomaly_map)
        if answer.decisions.p_values.ByteSize():
            out["p_values"] = to_numpy(answer.decisions.p_values)
            out["anomalous"] = to_numpy(answer.decisions.anomalous)
        return answer.model, out


ADAPTER = HyperspectralAdapter()
