"""REST routes of the logs modality: a raw log file uploaded as multipart form data (or a text body)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import BYTES, Adapter, TensorMeta
from gateway.modalities.shared import read_upload
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.logs.v1 import logs_pb2
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "LogsDetectOut", "add_routes", "logs_json"]


class LineOut(BaseModel):
    """One scored line."""

    index: int = Field(description="Position in its session (0-based, blank lines not counted).")
    text: str = Field(description="The line as decoded (invalid UTF-8 replaced).")
    score: float = Field(description="Raw line score, higher = more anomalous.")


class SessionOut(BaseModel):
    """One session's verdict."""

    id: str
    score: float
    p_value: float
    anomalous: bool
    line_count: int
    top_lines: list[LineOut] = Field(description="The highest-scoring lines: what drove the score.")


class LogsDetectOut(BaseModel):
    """The logs service's answer."""

    service: str
    model: dict[str, str]
    rule: str
    p_value_threshold: float
    skipped_empty_lines: int
    truncated_lines: int
    anomalous_sessions: int
    results: list[SessionOut]


LOG_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"],
                           "properties": {"file": {"type": "string", "format": "binary",
                                                   "description": "A raw log file, one line per event."}}}
            },
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


async def _read_log(request: Request, limit: int) -> tuple[bytes, str]:
    """The file bytes and its name (``log`` when none) from a multipart ``file`` field, or the raw body."""
    data, name = await read_upload(request, limit, "log upload exceeds the limit of {limit} bytes",
                                   "the log file is empty; expected one log line per line", text=True)
    return data, (name or "log").rsplit("/", 1)[-1]


def logs_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON body for a logs answer."""
    answer = response.logs
    results = [
        {"id": r.id, "score": r.score, "p_value": r.p_value, "anomalous": r.anomalous, "line_count": r.line_count,
         "top_lines": [{"index": x.index, "text": x.text, "score": x.score} for x in r.top_lines]}
        for r in answer.results
    ]
    return {
        "service": response.service,
        "model": {"detector": answer.model.detector, "version": answer.model.version},
        "rule": common_pb2.DecisionRule.Name(answer.rule),
        "p_value_threshold": answer.p_value_threshold,
        "skipped_empty_lines": answer.input.skipped_empty_lines,
        "truncated_lines": answer.input.truncated_lines,
        "anomalous_sessions": sum(r["anomalous"] for r in results),
        "results": results,
    }


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/logs/detect/file`` (raw log file upload)."""

    @app.post(
        "/v1/logs/detect/file",
        tags=["logs"],
        response_model=LogsDetectOut,
        summary="Score an uploaded raw log file (multipart field `file`, or a text body), split into sessions.",
        openapi_extra=LOG_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def logs_detect_file(
        request: Request,
        session_pattern: Annotated[str, Query(description="Regex keying a line's session; empty = model's.")] = "",
        window_lines: Annotated[int, Query(ge=0, le=100_000,
                                           description="Lines per window for unkeyed lines; 0 = model's.")] = 0,
        rule: Annotated[schemas.Rule, Query(description="Decision rule over the sessions.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        top_lines: Annotated[int, Query(ge=0, le=100, description="Lines listed per session; 0 = 5.")] = 0,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get("logs")  # fail fast when not routed, before reading the upload
        data, name = await _read_log(request, dataplane.settings.max_upload_bytes)
        message = logs_pb2.DetectRequest(
            file=logs_pb2.LogFile(name=name, content=data, session_pattern=session_pattern,
                                  window_lines=window_lines),
            model=common_pb2.ModelRef(detector=detector, version=version),
            policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
            top_lines=top_lines,
        )
        return JSONResponse(logs_json(await dataplane.forward(route, message, timeout)))


class LogsAdapter(Adapter):
    """Sessions as strings (raw lines joined by newlines) ``(N,)`` → session scores, p-values, flags ``(N,)``."""

    modality = "logs"

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("sessions", BYTES, (-1,)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> logs_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        sessions = inputs["sessions"]
        if sessions.ndim != 1 or sessions.size == 0:
            raise InvalidInputError(f"input 'sessions': expected shape [N], N > 0, got {list(sessions.shape)}",
                                    "sessions")
        return logs_pb2.DetectRequest(
            sessions=[logs_pb2.Session(id=str(i), lines=text.split(b"\n")) for i, text in enumerate(sessions)],
            model=model, policy=policy,
        )

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.logs
        return answer.model, {
            "scores": np.array([r.score for r in answer.results], dtype=np.float32),
            "p_values": np.array([r.p_value for r in answer.results], dtype=np.float64),
            "anomalous": np.array([r.anomalous for r in answer.results], dtype=np.bool_),
        }


ADAPTER = LogsAdapter()
