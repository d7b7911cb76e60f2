"""One set of exceptions, mapped to gRPC and HTTP status codes in one place (as KServe's errors.py).

Invalid input → INVALID_ARGUMENT / 400, input over a size limit → RESOURCE_EXHAUSTED / 413 (the message
states the limit, the detail names the field), not ready → UNAVAILABLE / 503, unknown model →
NOT_FOUND / 404, unauthenticated → UNAUTHENTICATED / 401, anything else → INTERNAL / 500
with a generic message (the original exception stays chained for the logs).
"""

from __future__ import annotations

import grpc

__all__ = [
    "ERROR_DETAIL_KEY",
    "InvalidInputError",
    "LimitExceededError",
    "ModelNotFoundError",
    "NotReadyError",
    "OverloadedError",
    "PolyadError",
    "UnauthenticatedError",
    "error_detail",
    "grpc_status_for",
    "http_status_for",
    "public_message",
]


class PolyadError(Exception):
    """Base of the errors a client may see with their own message."""

    grpc_code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    http_status: int = 500

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(PolyadError, ValueError):
    """The request's content is wrong: the message says what was expected."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    http_status = 400


class LimitExceededError(InvalidInputError):
    """The request is larger than a configured limit (bytes, points, images, lines, nodes…).

    RESOURCE_EXHAUSTED / 413 rather than INVALID_ARGUMENT: the input is well formed, just too big for
    this deployment. ``field`` is required, so the gateway can tell it from overload (429, no field).
    """

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    http_status = 413

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field or "request")


class NotReadyError(PolyadError):
    """A model or an upstream service cannot serve yet (or any more)."""

    grpc_code = grpc.StatusCode.UNAVAILABLE
    http_status = 503


class ModelNotFoundError(PolyadError):
    """The named model or version does not exist in the store."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    http_status = 404


class UnauthenticatedError(PolyadError):
    """Missing or wrong credentials."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED
    http_status = 401


class OverloadedError(PolyadError):
    """Too many requests in flight: retry later (the message states the limit)."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    http_status = 429


GENERIC_INTERNAL_MESSAGE = "internal error; see the service log"


def grpc_status_for(error: BaseException) -> grpc.StatusCode:
    """The gRPC status code for an exception."""
    return error.grpc_code if isinstance(error, PolyadError) else grpc.StatusCode.INTERNAL


def http_status_for(error: BaseException) -> int:
    """The HTTP status for an exception."""
    return error.http_status if isinstance(error, PolyadError) else 500


ERROR_DETAIL_KEY = "polyad-error-detail-bin"
"""Binary trailing metadata carrying a serialized ``polyad.common.v1.ErrorDetail``."""


def error_detail(error: BaseException) -> bytes:
    """The serialized ``common.v1.ErrorDetail`` for a failed call."""
    from polyad.common.v1 import common_pb2

    field = error.field if isinstance(error, PolyadError) else ""
    return common_pb2.ErrorDetail(field=field, reason=public_message(error)).SerializeToString()


def public_message(error: BaseException) -> str:
    """The message safe to send to a client: ours verbatim, anything else generic."""
    return str(error) if isinstance(error, PolyadError) else GENERIC_INTERNAL_MESSAGE
