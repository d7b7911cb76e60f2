"""The gateway's one data plane, shared by the gRPC and REST transports (as KServe's dataplane.py).

``detect`` forwards a request to the service of its modality with the caller's deadline;
``list_services`` reports each routed service's grpc.health.v1 status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc import aio
from grpc_health.v1 import health_pb2

from gateway.config import GatewaySettings
from gateway.routing import GENERIC_ARM, Route, Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from services.core.errors import ERROR_DETAIL_KEY, InvalidInputError, NotReadyError, OverloadedError, PolyadError

__all__ = ["CHANNEL_OPTIONS", "HTTP_STATUS_BY_CODE", "DataPlane", "UpstreamError"]

HTTP_STATUS_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
"""The HTTP status of each gRPC code (google.rpc's mapping); anything else is 500."""

CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    # notice a restarted upstream within ~2 s (gRPC's default backoff grows to 120 s)
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    # spread calls over every address a name resolves to (e.g. "dns:///svc-headless:50061")
    ("grpc.lb_policy_name", "round_robin"),
    # find a silently dead upstream connection (e.g. a node gone) within ~40 s, even with no call in flight
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]
_SERVING = health_pb2.HealthCheckResponse.SERVING
INFO_CACHE_S = 5.0
"""How long a service's answer to ``GetModelInfo`` (detectors, unavailable ones) is reused."""


class UpstreamError(PolyadError):
    """An upstream service's non-OK answer, keeping its gRPC code and message for the caller."""

    def __init__(self, code: grpc.StatusCode, message: str, field: str = "") -> None:
        super().__init__(message, field)
        self.grpc_code = code
        self.http_status = HTTP_STATUS_BY_CODE.get(code, 500)
        if code is grpc.StatusCode.RESOURCE_EXHAUSTED and field:  # a named field over a size limit, not overload
            self.http_status = 413


class DataPlane:
    """Forwarding and readiness over a :class:`Router`; transports call only this."""

    def __init__(self, settings: GatewaySettings, router: Router | None = None) -> None:
        self.settings = settings
        upstream_tls = settings.upstream_tls
        self.router = router or Router(
            settings.routes,
            channel_options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                *CHANNEL_OPTIONS,
                *(upstream_tls.channel_options() if upstream_tls is not None else []),
            ],
            credentials=upstream_tls.grpc_credentials() if upstream_tls is not None else None,
        )
        self._default_timeout = settings.default_timeout_s
        self._inflight: dict[str, int] = {}  # unary calls in flight per service (one event loop: no lock needed)
        self._streams: dict[str, int] = {}  # StreamDetect calls open per service
        self._latest_info: dict[str, tuple[float, common_pb2.ModelInfo | None]] = {}  # route key -> (when, info)

    def deadline(self, timeout: float | None) -> float:
        """The caller's remaining time, capped at the gateway's default."""
        return self._default_timeout if timeout is None or timeout > self._default_timeout else timeout

    async def detect(
        self, request: gateway_pb2.DetectRequest, timeout: float | None = None
    ) -> gateway_pb2.DetectResponse:
        """Forward ``request`` to its modality's service; ``timeout`` is the caller's remaining time (s)."""
        route = self.router.route(request)
        arm = request.WhichOneof("payload")
        payload = request.other.value if arm == GENERIC_ARM else getattr(request, arm).SerializeToString()
        return await self.forward(route, payload, timeout)

    async def forward(
        self, route: Route, payload: Message | bytes, timeout: float | None = None
    ) -> gateway_pb2.DetectResponse:
        """Send one service's DetectRequest (message or serialized) upstream; wrap the answer for the gateway."""
        answer = await self.call_bytes(route, "Detect", payload, timeout)
        return _wrap(gateway_pb2.DetectResponse(service=route.spec.name), route, answer, "DetectResponse")

    async def native(self, route: Route, payload: Message | bytes, timeout: float | None = None) -> Message:
        """Send a DetectRequest upstream and parse the answer as the service's own ``DetectResponse``."""
        answer = await self.call_bytes(route, "Detect", payload, timeout)
        return route.spec.messages().DetectResponse.FromString(answer)

    async def unary(self, route: Route, method: str, message: Message | bytes, timeout: float | None = None) -> Any:
        """Call another unary method of the route's service (e.g. ``GetModelInfo``), same deadline and errors."""
        answer = await self.call_bytes(route, method, message, timeout)
        return getattr(route.spec.messages(), f"{method}Response").FromString(answer)

    async def call_bytes(self, route: Route, method: str, message: Message | bytes, timeout: float | None) -> bytes:
        """One unary call with serialized bytes both ways; upstream failures become our errors."""
        timeout = self.deadline(timeout)
        payload = message if isinstance(message, bytes) else message.SerializeToString()
        with _admitted(self._inflight, route.spec.name, self.settings.max_inflight_per_service,
                       "calls in flight (max_inflight_per_service)"):
            try:
                return await route.unary(method)(payload, timeout=timeout)
            except aio.AioRpcError as error:
                raise _upstream_error(route, error, timeout) from error

    async def stream_detect(
        self, requests: AsyncIterator[gateway_pb2.StreamDetectRequest], timeout: float | None = None
    ) -> AsyncIterator[gateway_pb2.StreamDetectResponse]:
        """Forward a stream to the service of its first message's modality, message by message.

        Streams are long-lived: only the caller's own deadline applies, not the unary default.
        """
        first = await anext(requests, None)
        if first is None:
            return
        route = self.router.route(first, "StreamDetectRequest")
        arm, problem = first.WhichOneof("payload"), []

        def payload(message: gateway_pb2.StreamDetectRequest) -> bytes:
            return message.other.value if arm == GENERIC_ARM else getattr(message, arm).SerializeToString()

        async def upstream() -> AsyncIterator[bytes]:
            yield payload(first)
            async for message in requests:
                if message.WhichOneof("payload") != arm or (arm == GENERIC_ARM and
                                                            message.other.type_url != first.other.type_url):
                    problem.append(InvalidInputError(
                        f"payload: stream started as {arm!r}, got {message.WhichOneof('payload')!r}; "
                        "one modality per stream"
                    ))
                    return
                yield payload(message)

        with _admitted(self._streams, route.spec.name, self.settings.max_streams_per_service,
                       "streams open (max_streams_per_service)"):
            try:
                async for answer in route.stream_call(upstream(), timeout=timeout):
                    yield _wrap(gateway_pb2.StreamDetectResponse(service=route.spec.name), route, answer,
                                "StreamDetectResponse")
            except aio.AioRpcError as error:
                raise _upstream_error(route, error, timeout or 0.0) from error
        if problem:
            raise problem[0]

    async def list_services(self) -> gateway_pb2.ListServicesResponse:
        """Every routed service with its readiness and the detectors it cannot run, asked concurrently."""
        routes = self.router.routes
        ready = await asyncio.gather(*(self._is_ready(route) for route in routes))
        # only a SERVING service can describe its model: the others are not asked (no second timeout)
        infos = await asyncio.gather(*(self.latest_model_info(route) if ok else _none() for route, ok
                                       in zip(routes, ready, strict=True)))
        return gateway_pb2.ListServicesResponse(
            services=[
                gateway_pb2.ServiceStatus(name=route.spec.name, modality=route.modality, address=route.address,
                                          ready=ok, unavailable_detectors=info.unavailable_detectors if info else {})
                for route, ok, info in zip(routes, ready, infos, strict=True)
            ]
        )

    async def latest_model_info(self, route: Route) -> common_pb2.ModelInfo | None:
        """The service's ``GetModelInfo`` of its default model (None while it cannot answer), cached for
        ``INFO_CACHE_S`` so probes and listings do not ask every service on every call."""
        key = route.address + route.modality
        cached = self._latest_info.get(key)
        if cached is not None and time.monotonic() - cached[0] < INFO_CACHE_S:
            return cached[1]
        request = route.spec.messages().GetModelInfoRequest()
        try:
            info = (await self.unary(route, "GetModelInfo", request, self.settings.health_timeout_s)).model
        except PolyadError:
            info = None
        self._latest_info[key] = (time.monotonic(), info)
        return info

    async def _is_ready(self, route: Route) -> bool:
        """The service's health status is SERVING. A check that only ran out of time is asked once more: on a
        loaded machine one slow answer is not a service that stopped serving (Kubernetes' probes likewise
        need several failures in a row)."""
        request = health_pb2.HealthCheckRequest(service=route.spec.grpc_service)
        for attempt in range(2):
            try:
                answer = await self.router.health(route.address).Check(
                    request, timeout=self.settings.health_timeout_s
                )
            except aio.AioRpcError as error:
                if error.code() is grpc.StatusCode.DEADLINE_EXCEEDED and attempt == 0:
                    continue
                return False
            return answer.status == _SERVING
        return False

    async def close(self) -> None:
        """Close the upstream channels."""
        await self.router.close()


def _wrap(response: Any, route: Route, answer: bytes, message: str) -> Any:
    """Put a service's serialized answer into the gateway response: its own arm, or ``other`` as an Any."""
    if route.arm == GENERIC_ARM:
        response.other.type_url = route.type_url(message)
        response.other.value = answer
    else:
        getattr(response, route.arm).ParseFromString(answer)
    return response


async def _none() -> None:
    return None


@contextmanager
def _admitted(counts: dict[str, int], name: str, limit: int, what: str) -> Iterator[None]:
    """Hold one of ``limit`` slots of service ``name`` in ``counts``; OverloadedError at once when none is free."""
    if counts.get(name, 0) >= limit:
        raise OverloadedError(f"service {name!r} has {limit} {what}; retry")
    counts[name] = counts.get(name, 0) + 1
    try:
        yield
    finally:
        counts[name] -= 1


def _upstream_error(route: Route, error: aio.AioRpcError, timeout: float) -> PolyadError:
    """The exception the caller sees for an upstream failure: its code and message, with context."""
    code, details = error.code(), error.details() or ""
    name = route.spec.name
    if code is grpc.StatusCode.UNAVAILABLE:
        return NotReadyError(f"service {name!r} at {route.address} is unavailable: {details}")
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return UpstreamError(code, f"service {name!r} did not answer within {timeout:.3g} s")
    return UpstreamError(code, details or f"service {name!r} failed with {code.name}", _upstream_field(error))


def _upstream_field(error: aio.AioRpcError) -> str:
    """The offending field named in the upstream's ``ErrorDetail`` trailer, if any."""
    for key, value in error.trailing_metadata() or ():
        if key == ERROR_DETAIL_KEY and isinstance(value, bytes):
            return common_pb2.ErrorDetail.FromString(value).field
    return ""
