"""REST routes and KServe v2 adapter of the medical modality: studies uploaded as files or sent as slices.

An upload (DICOM file, zipped DICOM series, NIfTI ``.nii`` / ``.nii.gz``, PNG/JPEG) travels to the service as
raw bytes (``Study.upload``); the service detects the format, decodes, windows and checks it, so this module
knows no medical file format.
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
from gateway.modalities.shared import read_upload, unpack_answer
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.medical.v1 import medical_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "MedicalDetectOut", "add_routes", "medical_json", "window_proto"]

MODALITY = "medical"
WINDOW_ALIASES = {"liver/abdomen": "abdomen", "liver_abdomen": "abdomen", "abdominal": "abdomen",
                  "soft-tissue": "soft_tissue"}
PRESET_NAMES = [name.removeprefix("WINDOW_PRESET_").lower() for name in pb.WindowPreset.keys()[1:]]


class SliceOut(BaseModel):
    """One flagged slice."""

    index: int = Field(description="Axial slice index (RAS Z) of the map and of the overlays.")
    score: float = Field(description="Raw slice score, higher = more anomalous.")
    p_value: float = Field(description="Conformal p-value against held-out normal slices.")


class VolumeOut(BaseModel):
    """The study as a whole."""

    score: float = Field(description="Mean of the top-k slice scores.")
    p_value: float = Field(description="Simes' combination of the scored slices' p-values.")
    anomalous: bool


class OverlayOut(BaseModel):
    """A PNG of one slice with the map blended over it and the flagged region outlined."""

    slice_index: int
    png_base64: str


class MedicalDetectOut(BaseModel):
    """The medical service's answer for one uploaded study."""

    service: str
    model: dict[str, str]
    filename: str
    shape: list[int] = Field(description="(X, Y, Z) of the map in RAS+; the NIfTI download has the input's own.")
    spacing: list[float] = Field(description="Voxel size in mm along X, Y, Z.")
    rule: str
    p_value_threshold: float
    volume: VolumeOut
    slice_scores: list[float] = Field(description="Raw score of every axial slice (Z,).")
    slice_p_values: list[float] = Field(description="P-value of every slice; 1 for slices without anatomy.")
    scored: list[bool] = Field(description="Slices with enough anatomy to be scored.")
    flagged_slices: list[SliceOut]
    nifti_map_base64: str | None = Field(None, description=".nii.gz of the map with the input's affine and shape.")
    dicom_seg_base64: str | None = Field(None, description="DICOM-SEG of the flagged region (DICOM input, on request).")
    overlays: list[OverlayOut] = Field(default_factory=list, description="PNGs of the most anomalous slices.")


UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "A .dcm (single or multi-frame), a .zip of one DICOM series, a .nii / .nii.gz, or "
                                "a PNG/JPEG."}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                            "description": "The file's bytes (format detected from the content)."}},
}}}


async def _read_upload(request: Request, filename: str, limit: int) -> tuple[str, bytes]:
    """(filename, bytes) of the upload: a multipart ``file`` field or the raw body."""
    data, uploaded = await read_upload(
        request, limit, "file: the upload exceeds the limit of {limit} bytes",
        "file: the upload is empty; expected a DICOM file or zipped series, a NIfTI (.nii / .nii.gz) or a PNG/JPEG",
        "file")
    return filename or uploaded, data


def window_proto(preset: str = "", center: float | None = None, width: float | None = None) -> pb.Window:
    """A ``Window`` from a preset name (``brain``, ``liver``, ``abdomen``, ...) or an explicit center / width."""
    if center is not None or width is not None:
        if center is None or width is None:
            raise InvalidInputError("window: give both center and width (or a preset)", "width")
        return pb.Window(center=center, width=width)
    if not preset:
        return pb.Window()
    key = WINDOW_ALIASES.get(preset.strip().lower(), preset.strip().lower())
    if key not in PRESET_NAMES:
        raise InvalidInputError(f"window: unknown preset {preset!r}; known: {', '.join(PRESET_NAMES)}", "window")
    return pb.Window(preset=pb.WindowPreset.Value(f"WINDOW_PRESET_{key.upper()}"))


def medical_json(response: gateway_pb2.DetectResponse, filename: str = "") -> dict[str, Any]:
    """The JSON body of a medical answer (downloads as base64)."""
    answer = unpack_answer(response, pb.DetectResponse())
    scores, scored = to_numpy(answer.slice_scores), to_numpy(answer.scored)
    p_values, flags = to_numpy(answer.slice_decisions.p_values), to_numpy(answer.slice_decisions.anomalous)
    shape = list(answer.anomaly_map.shape) if answer.anomaly_map.shape else []

    def b64(data: bytes) -> str | None:
        return base64.b64encode(data).decode() if data else None

    return {
        "service": response.service,
        "model": {"detector": answer.model.detector, "version": answer.model.version},
        "filename": filename, "shape": shape, "spacing": list(answer.spacing),
        "rule": common_pb2.DecisionRule.Name(answer.slice_decisions.rule),
        "p_value_threshold": answer.slice_decisions.p_value_threshold,
        "volume": {"score": answer.volume_score, "p_value": answer.volume_p_value,
                   "anomalous": answer.volume_anomalous},
        "slice_scores": scores.astype(float).tolist(), "slice_p_values": p_values.astype(float).tolist(),
        "scored": scored.astype(bool).tolist(),
        "flagged_slices": [{"index": int(k), "score": float(scores[k]), "p_value": float(p_values[k])}
                           for k in np.flatnonzero(flags)],
        "nifti_map_base64": b64(answer.nifti_map), "dicom_seg_base64": b64(answer.dicom_seg),
        "overlays": [{"slice_index": o.slice_index, "png_base64": b64(o.png)} for o in answer.overlays],
    }


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/medical/detect/file`` (a DICOM / zipped series / NIfTI / PNG upload)."""

    @app.post(
        "/v1/medical/detect/file",
        tags=[MODALITY],
        response_model=MedicalDetectOut,
        summary="Score an uploaded study (multipart field `file`, or the raw body): per-slice scores and p-values, "
                "the volume decision, the NIfTI map (input affine), PNG overlays and optionally a DICOM-SEG.",
        openapi_extra=UPLOAD_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def medical_detect_file(
        request: Request,
        filename: Annotated[str, Query(description="File name (messages; a hint for DICOM without preamble).")] = "",
        window: Annotated[str, Query(description=f"CT window preset: {', '.join(PRESET_NAMES)}; empty = the "
                                                 "DICOM header's window for CT, else per-modality.")] = "",
        center: Annotated[float | None, Query(description="Explicit window center (with width).")] = None,
        width: Annotated[float | None, Query(gt=0, description="Explicit window width (with center).")] = None,
        rule: Annotated[schemas.Rule, Query(description="Decision rule over the slices.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        overlays: Annotated[int, Query(ge=0, le=32, description="PNG overlays of the top slices.")] = 3,
        nifti: Annotated[bool, Query(description="Return the map as .nii.gz (base64).")] = True,
        dicom_seg: Annotated[bool, Query(description="Return a DICOM-SEG of the flagged region (DICOM input).")
                             ] = False,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get(MODALITY)  # fail fast when not routed, before reading the upload
        chosen = window_proto(window, center, width)
        name, data = await _read_upload(request, filename, dataplane.settings.max_upload_bytes)
        message = pb.DetectRequest(
            study=pb.Study(id=name, upload=pb.Upload(data=data, filename=name)),  # decoded by the service
            model=common_pb2.ModelRef(detector=detector, version=version),
            policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha), window=chosen,
            outputs=pb.OutputOptions(omit_anomaly_map=True, include_nifti_map=nifti, include_dicom_seg=dicom_seg,
                                     overlay_slices=overlays))
        body = medical_json(await dataplane.forward(route, message, timeout), name)
        return JSONResponse(body)


def _to_volume(slices: np.ndarray) -> np.ndarray:
    """Display slices ``(N, H, W)`` (anterior up, patient's right on the left) -> RAS ``(X=W, Y=H, Z=N)``."""
    return np.ascontiguousarray(np.moveaxis(np.swapaxes(slices[:, ::-1, ::-1], -1, -2), 0, -1))


def _to_slices(volume: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_to_volume`."""
    return np.ascontiguousarray(np.swapaxes(np.moveaxis(volume, -1, 0), -1, -2)[:, ::-1, ::-1])


class MedicalAdapter(Adapter):
    """Consecutive axial slices ``slices`` FP32 ``[N, H, W]`` of one study (display orientation, raw intensities;
    normalised per the 0.5–99.5th percentiles) → ``scores`` FP32, ``p_values`` FP64, ``anomalous`` BOOL ``[N]``
    and ``anomaly_map`` FP32 ``[N, H, W]``. Neighbouring slices form the 2.5D channels."""

    modality = MODALITY

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("slices", "FP32", (-1, -1, -1)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)), TensorMeta("anomaly_map", "FP32", (-1, -1, -1)))

    def request(self, inputs, model, policy, wanted) -> pb.DetectRequest:  # type: ignore[no-untyped-def]
        slices = inputs["slices"]
        if slices.ndim != 3 or 0 in slices.shape:
            raise InvalidInputError(f"input 'slices': expected shape [N, H, W] with N, H, W > 0, got "
                                    f"{list(slices.shape)}", "slices")
        volume = _to_volume(np.asarray(slices, dtype=np.float32))
        return pb.DetectRequest(study=pb.Study(volume=pb.VolumeTensor(values=from_numpy(volume))), model=model,
                                policy=policy, outputs=pb.OutputOptions(omit_anomaly_map="anomaly_map" not in wanted))

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = unpack_answer(response, pb.DetectResponse())
        out = {"scores": to_numpy(answer.slice_scores), "p_values": to_numpy(answer.slice_decisions.p_values),
               "anomalous": to_numpy(answer.slice_decisions.anomalous)}
        if answer.anomaly_map.ByteSize():
            out["anomaly_map"] = _to_slices(to_numpy(answer.anomaly_map))
        return answer.model, out


ADAPTER = MedicalAdapter()
