"""What every fuzzed call must satisfy: bad input is the caller's error, never the server's; nothing wedges."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.server import LIVENESS_SERVICE
from services.core.spec import service_spec
from tests.fuzz.stack import Stack

__all__ = ["CALLER_CODES", "assert_all_ready", "assert_caller_error"]

CALLER_CODES = frozenset({
    grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE,
})
"""Codes a malformed request may get: OK (the mutation was harmless) or a caller-side error."""


def assert_caller_error(code: grpc.StatusCode, details: str, what: str) -> None:
    assert code in CALLER_CODES, f"{what}: {code.name} ({details!r}) for bad input"
    assert "Traceback" not in (details or ""), f"{what}: a traceback leaked into the message"


def assert_all_ready(stack: Stack) -> None:
    """Every service still answers its readiness and liveness health names with SERVING."""
    serving = health_pb2.HealthCheckResponse.SERVING
    for name in stack.services:
        with grpc.insecure_channel(stack.address(name)) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for check in (service_spec(name).grpc_service, LIVENESS_SERVICE):
                status = health.Check(health_pb2.HealthCheckRequest(service=check), timeout=5).status
                assert status == serving, f"{name}: {check} is {status} after fuzzing"
