"""REST routes and KServe v2 adapter of the tensor-stream modality: events uploaded as JSON lines.

The upload travels to the service as raw bytes (``Events.jsonl``); the service parses and checks it
against the model's schema, so this module knows no event format beyond "bytes of JSON lines".
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import BYTES, Adapter, TensorMeta
from gateway.modalities.shared import read_upload, unpack_answer
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.tensorstream.v1 import tensorstream_pb2 as pb
from services.core.codecs import to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "TensorStreamDetectOut", "add_routes", "tensorstream_json"]

MODALITY = "tensorstream"


class EventOut(BaseModel):
    """One flagged event."""

    index: int = Field(description="Position in the upload (0-based, blank lines not counted).")
    score: float = Field(description="Raw event score, higher = more anomalous.")
    p_value: float = Field(description="Conformal p-value against held-out normal events.")


class WindowOut(BaseModel):
    """The group score of one time window."""

    index: int = Field(description="floor(time / window_seconds).")
    start: float = Field(description="Window start, seconds.")
    event_count: int
    expected_count: float = Field(description="Events the model predicted for the window.")
    score: float = Field(description="Group anomaly score, higher = more anomalous.")
    component: int = Field(description="The latent component that explains the window best.")
    intensity: float
    burst: float
    joint: float
    p_value: float = Field(description="Simes combination of the window's event p-values.")
    anomalous: bool


class TensorStreamDetectOut(BaseModel):
    """The tensor-stream service's answer for an uploaded batch of events."""

    service: str
    model: dict[str, str]
    rule: str
    p_value_threshold: float
    events: int
    scores: list[float] = Field(description="Raw score of every event, upload order.")
    flagged_events: list[EventOut]
    windows: list[WindowOut]
    flagged_windows: int


JSONL_BODY = {"requestBody": {"required": True, "content": {
    "application/x-ndjson": {"schema": {"type": "string", "description": "One JSON object per line: the time "
                                        "field (seconds or ISO 8601) and every attribute of the model's schema."}},
    "text/plain": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "A JSON-lines event file."}}}},
}}}


async def _read_jsonl(request: Request, limit: int) -> bytes:
    """The upload's bytes: a multipart ``file`` field or the raw body."""
    data, _ = await read_upload(request, limit, "event upload exceeds the limit of {limit} bytes",
                                "the upload is empty; expected one JSON object per line", field="events", text=True)
    return data


def _first(tensor: common_pb2.Tensor) -> Any:
    values = to_numpy(tensor)
    return values.reshape(-1)[0].item() if values.size else None


def tensorstream_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON body of a tensor-stream answer."""
    answer = unpack_answer(response, pb.DetectResponse())
    scores, p_values = to_numpy(answer.scores), to_numpy(answer.decisions.p_values)
    flags = to_numpy(answer.decisions.anomalous)
    windows = [{"index": w.index, "start": w.start, "event_count": w.event_count, "expected_count": w.expected_count,
                "score": w.score, "component": w.component, "intensity": w.intensity, "burst": w.burst,
                "joint": w.joint, "p_value": float(_first(w.decision.p_values)),
                "anomalous": bool(_first(w.decision.anomalous))} for w in answer.windows]
    return {"service": response.service,
            "model": {"detector": answer.model.detector, "version": answer.model.version},
            "rule": common_pb2.DecisionRule.Name(answer.decisions.rule),
            "p_value_threshold": answer.decisions.p_value_threshold, "events": int(scores.size),
            "scores": scores.astype(float).tolist(),
            "flagged_events": [{"index": int(i), "score": float(scores[i]), "p_value": float(p_values[i])}
                               for i in np.flatnonzero(flags)],
            "windows": windows, "flagged_windows": sum(w["anomalous"] for w in windows)}


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/tensorstream/detect/jsonl`` (a JSON-lines event upload)."""

    @app.post(
        "/v1/tensorstream/detect/jsonl",
        tags=[MODALITY],
        response_model=TensorStreamDetectOut,
        summary="Score events uploaded as JSON lines (raw body or multipart field `file`): event scores, "
                "flagged events, window group scores.",
        openapi_extra=JSONL_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def tensorstream_detect_jsonl(
        request: Request,
        rule: Annotated[schemas.Rule, Query(description="Decision rule (events and windows separately).")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get(MODALITY)  # fail fast when not routed, before reading the upload
        data = await _read_jsonl(request, dataplane.settings.max_upload_bytes)
        message = pb.DetectRequest(events=pb.Events(jsonl=data),  # parsed by the service
                                   model=common_pb2.ModelRef(detector=detector, version=version),
                                   policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha))
        return JSONResponse(tensorstream_json(await dataplane.forward(route, message, timeout)))


class TensorStreamAdapter(Adapter):
    """Events as JSON objects ``(N,)`` BYTES (one event each) → event scores / p-values / flags ``(N,)`` and the
    windows' indices, group scores and p-values ``(M,)``."""

    modality = MODALITY

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("events", BYTES, (-1,)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)), TensorMeta("window_index", "INT64", (-1,)),
                TensorMeta("window_scores", "FP32", (-1,)), TensorMeta("window_p_values", "FP64", (-1,)))

    def request(self, inputs, model, policy, wanted) -> pb.DetectRequest:  # type: ignore[no-untyped-def]
        events = inputs["events"]
        if events.ndim != 1 or events.size == 0:
            raise InvalidInputError(f"input 'events': expected shape [N], N > 0, got {list(events.shape)}", "events")
        return pb.DetectRequest(events=pb.Events(jsonl=b"\n".join(events.tolist())), model=model, policy=policy)

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = unpack_answer(response, pb.DetectResponse())
        return answer.model, {
            "scores": to_numpy(answer.scores),
            "p_values": to_numpy(answer.decisions.p_values),
            "anomalous": to_numpy(answer.decisions.anomalous),
            "window_index": np.array([w.index for w in answer.windows], dtype=np.int64),
            "window_scores": np.array([w.score for w in answer.windows], dtype=np.float32),
            "window_p_values": np.array([_first(w.decision.p_values) for w in answer.windows], dtype=np.float64),
        }


ADAPTER = TensorStreamAdapter()
