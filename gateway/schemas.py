"""JSON shapes of the REST proxy (pydantic models, documented in OpenAPI) and their protobuf mapping."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, TypeVar

import grpc
import numpy as np
from fastapi import Header
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field

from gateway.dataplane import UpstreamError
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from services.core.codecs import to_numpy
from services.core.errors import InvalidInputError

Rule = Literal["alpha", "bh", "by"]
Timeout = Annotated[
    float | None,
    Header(
        alias="X-Request-Timeout",
        gt=0,
        description="Deadline in seconds; the gateway default applies if larger.",
    ),
]
M = TypeVar("M", bound=Message)


class StrictIn(BaseModel):
    """Base of request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class PolicyIn(StrictIn):
    rule: Rule = Field("alpha", description="alpha: p ≤ alpha per point; bh / by: FDR control at alpha.")
    alpha: float = Field(0.01, gt=0, lt=1, description="Significance level or FDR target.")


class ModelRef(StrictIn):
    detector: str = Field("", description="Registered detector, e.g. 'comet'; empty = the service default.")
    version: str = Field("", description="Model-store version; empty = latest.")


class ServiceOut(BaseModel):
    name: str
    modality: str
    address: str
    ready: bool = Field(description="The service's grpc.health.v1 status is SERVING.")
    unavailable_detectors: dict[str, str] = Field(
        default_factory=dict, description="Detectors of the service that cannot run here, with the reason "
        "(e.g. no VLM checkpoint configured); Detect with one answers FAILED_PRECONDITION / 400.")


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


def floats(tensor: common_pb2.Tensor, field: str) -> list[Any]:
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


def service_json(status: gateway_pb2.ServiceStatus) -> dict[str, Any]:
    """The JSON of one ServiceStatus (shape: ServiceOut)."""
    return {
        "name": status.name,
        "modality": status.modality,
        "address": status.address,
        "ready": status.ready,
        "unavailable_detectors": dict(status.unavailable_detectors),
    }
