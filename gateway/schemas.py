"""JSON shapes of the REST proxy (pydantic models, documented in OpenAPI) and their protobuf mapping."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import grpc
import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field

from gateway.dataplane import UpstreamError
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.timeseries.v1 import timeseries_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

Rule = Literal["alpha", "bh", "by"]
M = TypeVar("M", bound=Message)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesIn(_In):
    id: str = Field("", description="Echoed in the result; the series index when empty.")
    values: list[list[float]] | list[float] = Field(
        description="T rows of C channel values (multivariate), or T plain values (univariate).",
        examples=[[0.1, 0.2, 0.15, 3.5, 0.2]],
    )


class PolicyIn(_In):
    rule: Rule = Field("alpha", description="alpha: p ≤ alpha per point; bh / by: FDR control at alpha.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Significance level or FDR target.")


class ModelRef(_In):
    detector: str = Field("", description="Registered detector, e.g. 'comet'; empty = the service default.")
    version: str = Field("", description="Model-store version; empty = latest.")


class TimeSeriesDetectIn(_In):
    series: list[SeriesIn] = Field(min_length=1, description="The series to score, one result each.")
    policy: PolicyIn = Field(default_factory=PolicyIn, description="How p-values become decisions.")
    model: ModelRef = Field(default_factory=ModelRef, description="Which model scores the batch.")


class RegionOut(BaseModel):
    start: int = Field(description="First flagged index.")
    end: int = Field(description="One past the last flagged index.")
    peak_score: float = Field(description="Highest score inside the region.")
    min_p_value: float = Field(description="Smallest p-value inside the region.")


class SeriesResultOut(BaseModel):
    id: str = Field(description="The request's series id (or its index).")
    scores: list[float | None] = Field(description="Raw per-point scores, higher = more anomalous.")
    p_values: list[float | None] = Field(description="Conformal p-value per point.")
    anomalous: list[bool] = Field(description="Per-point decision under the policy.")
    regions: list[RegionOut] = Field(description="Contiguous flagged stretches.")
    max_score: float | None = Field(description="Highest point score: the series-level score.")


class TimeSeriesDetectOut(BaseModel):
    service: str = Field(description="The service that answered.")
    model: ModelRef = Field(description="The model version that scored the batch.")
    results: list[SeriesResultOut] = Field(description="One result per series, in request order.")


class ServiceOut(BaseModel):
    name: str
    modality: str
    address: str
    ready: bool = Field(description="The service's grpc.health.v1 status is SERVING.")


class ServicesOut(BaseModel):
    services: list[ServiceOut]


class ErrorBody(BaseModel):
    code: str = Field(description="gRPC status name, e.g. INVALID_ARGUMENT.", examples=["INVALID_ARGUMENT"])
    message: str = Field(description="What went wrong, naming the field when there is one.")


class ErrorOut(BaseModel):
    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "Invalid input (the message names the field).",
        404: "Unknown model or version.",
        429: "The service is overloaded.",
        503: "The service is not ready or unreachable.",
        504: "The deadline passed before the service answered.",
    }.items()
}
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV: optional header, one column per channel"
                            "; timestamp/time/date first column and label/is_anomaly columns are ignored.",
                        }
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
PROTO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Protobuf JSON mapping (json_format); tensor bytes in base64.",
                }
            }
        },
    }
}


def parse_proto_json(data: bytes, message: M) -> M:
    """Parse the protobuf JSON mapping into ``message``; InvalidInputError naming the problem."""
    try:
        return json_format.Parse(data, message)
    except (json_format.ParseError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"body: {error}") from None


def series_arrays(body: TimeSeriesDetectIn) -> list[tuple[str, np.ndarray]]:
    """(id, float32 array) per JSON series; InvalidInputError when rows differ in length."""
    out = []
    for i, series in enumerate(body.series):
        try:
            out.append((series.id, np.asarray(series.values, dtype=np.float32)))
        except ValueError:
            raise InvalidInputError(f"series[{i}].values: rows must all have the same length") from None
    return out


def timeseries_request(
    series: Sequence[tuple[str, np.ndarray]], policy: PolicyIn, model: ModelRef
) -> timeseries_pb2.DetectRequest:
    """The time-series service request for (id, values) pairs, a policy and a model."""
    return timeseries_pb2.DetectRequest(
        series=[timeseries_pb2.Series(id=name, values=from_numpy(values)) for name, values in series],
        model=common_pb2.ModelRef(detector=model.detector, version=model.version),
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[policy.rule], alpha=policy.alpha),
    )


def _floats(tensor: common_pb2.Tensor, field: str) -> list[Any]:
    if not tensor.dtype:
        return []
    try:
        array = to_numpy(tensor, field)
    except InvalidInputError as error:
        raise UpstreamError(
            grpc.StatusCode.INTERNAL, f"the service answered a malformed tensor: {error}"
        ) from error
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return [x if math.isfinite(x) else None for x in array.ravel().tolist()]
    return array.ravel().tolist()


def timeseries_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON of a gateway response carrying a time-series answer (shape: TimeSeriesDetectOut)."""
    answer = response.timeseries
    return {
        "service": response.service,
        "model": {"detector": answer.model.detector, "version": answer.model.version},
        "results": [
            {
                "id": r.id,
                "scores": _floats(r.scores, f"results[{i}].scores"),
                "p_values": _floats(r.decisions.p_values, f"results[{i}].p_values"),
                "anomalous": _floats(r.decisions.anomalous, f"results[{i}].anomalous"),
                "regions": [
                    {"start": g.start, "end": g.end, "peak_score": g.peak_score, "min_p_value": g.min_p_value}
                    for g in r.regions
                ],
                "max_score": r.max_score if math.isfinite(r.max_score) else None,
            }
            for i, r in enumerate(answer.results)
        ],
    }


def service_json(status: gateway_pb2.ServiceStatus) -> dict[str, Any]:
    """The JSON of one ServiceStatus (shape: ServiceOut)."""
    return {
        "name": status.name,
        "modality": status.modality,
        "address": status.address,
        "ready": status.ready,
    }
