"""gRPC server plumbing shared by every service and the gateway.

One interceptor maps exceptions to status codes (via :mod:`services.core.errors`) and records
Prometheus metrics; :func:`build_server` adds ``grpc.health.v1`` health and server reflection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.core.errors import (
    ERROR_DETAIL_KEY,
    InvalidInputError,
    PolyadError,
    error_detail,
    grpc_status_for,
    public_message,
)
from services.core.metrics import LATENCY, REQUESTS

__all__ = ["DEFAULT_OPTIONS", "LIVENESS_SERVICE", "ErrorMappingInterceptor", "build_server", "set_alive"]

log = logging.getLogger(__name__)
_Parse = Callable[[Any], Any]

DEFAULT_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # ping an idle client every 60 s and drop it after 20 s without an answer (a dead peer frees its streams)
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # accept the gateway's keepalive pings (every 30 s, CHANNEL_OPTIONS) without counting them as abuse
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
]
"""Options of every gRPC server (services and gateway); docs/limits.md lists them."""


class ErrorMappingInterceptor(aio.ServerInterceptor):
    """Turns exceptions into status codes with a clear message, and counts every call."""

    def __init__(self, component: str) -> None:
        self.component = component

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method.rsplit("/", 1)[-1]
        # Requests are parsed inside the wrapper (not by gRPC), so bytes that are not the request message
        # are INVALID_ARGUMENT naming the message, not UNKNOWN with a traceback in the log.
        parse = _parser(handler.request_deserializer, details.method)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method, parse),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(handler.stream_stream, method, parse),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _wrap_unary(self, behaviour: Callable[..., Any], method: str, parse: _Parse) -> Callable[..., Any]:
        async def wrapped(request: Any, context: aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = await behaviour(parse(request), context)
            except Exception as error:
                await self._abort(context, method, error, started)
            self._record(method, context, started)
            return response

        return wrapped

    def _wrap_stream(self, behaviour: Callable[..., Any], method: str, parse: _Parse) -> Callable[..., Any]:
        async def wrapped(requests: AsyncIterator[Any], context: aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()

            async def parsed() -> AsyncIterator[Any]:
                async for request in requests:
                    yield parse(request)

            try:
                async for response in behaviour(parsed(), context):
                    yield response
            except Exception as error:
                if not isinstance(error, aio.AbortError):
                    await _drain(requests)
                await self._abort(context, method, error, started)
            self._record(method, context, started)

        return wrapped

    def _record(self, method: str, context: aio.ServicerContext, started: float) -> None:
        code = context.code() or grpc.StatusCode.OK
        code_name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        REQUESTS.labels(self.component, method, code_name).inc()
        LATENCY.labels(self.component, method).observe(time.perf_counter() - started)

    async def _abort(
        self, context: aio.ServicerContext, method: str, error: Exception, started: float
    ) -> None:
        if isinstance(error, aio.AbortError):  # the handler aborted on purpose: keep its status
            self._record(method, context, started)
            raise error
        if type(error) is NotImplementedError:  # a generated base-class method this server does not implement
            error = _UnimplementedError(f"{self.component} does not implement {method}")
        code = grpc_status_for(error)
        if code is grpc.StatusCode.INTERNAL:
            log.exception("%s/%s failed", self.component, method, exc_info=error)
        REQUESTS.labels(self.component, method, code.name).inc()
        LATENCY.labels(self.component, method).observe(time.perf_counter() - started)
        await context.abort(code, public_message(error), trailing_metadata=((ERROR_DETAIL_KEY, error_detail(error)),))


class _UnimplementedError(PolyadError):
    grpc_code = grpc.StatusCode.UNIMPLEMENTED
    http_status = 501


def _parser(deserializer: Callable[[bytes], Any] | None, method: str) -> _Parse:
    """``deserializer`` raising :class:`InvalidInputError` when the bytes are not the request message."""
    if deserializer is None:
        return lambda request: request

    def parse(request: Any) -> Any:
        if not isinstance(request, bytes):
            return request
        try:
            return deserializer(request)
        except DecodeError:
            raise InvalidInputError(f"the request is not a valid serialized message for {method}") from None

    return parse


STREAM_DRAIN_S = 0.25
"""How long a failing stream keeps reading what its client already sent before it ends with the error."""


async def _drain(requests: AsyncIterator[Any], budget_s: float = STREAM_DRAIN_S, limit: int = 1000) -> None:
    """Read (and drop) the client's in-flight messages, briefly, before failing a stream.

    A grpc.aio client that is still writing when the call ends gets INTERNAL ("Internal error from Core")
    instead of our status, and that status wins; the gateway forwarding a stream is such a client.
    """
    try:
        async with asyncio.timeout(budget_s):
            for _ in range(limit):
                await anext(requests)
    except (StopAsyncIteration, TimeoutError, aio.AioRpcError, asyncio.InvalidStateError):
        pass
    except Exception:  # a broken client stream: the original error is what matters
        log.debug("draining a failed stream", exc_info=True)


LIVENESS_SERVICE = "polyad.liveness"
"""grpc.health.v1 name that is SERVING while the process's event loop answers (readiness is the service's own
name: SERVING once a model is loaded). A wedged process stops answering it: ``polyad up`` and Kubernetes restart it."""


def build_server(
    component: str,
    register: Iterable[Callable[[aio.Server], None]],
    service_names: Iterable[str],
    address: str,
    interceptors: Iterable[aio.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[aio.Server, health.HealthServicer, int]:
    """An aio server with our interceptor, health and reflection, bound to ``address``.

    Returns the server (not started), its health servicer (all names start NOT_SERVING) and the
    bound port (useful with ``address='127.0.0.1:0'``).
    """
    server = aio.server(
        interceptors=[*interceptors, ErrorMappingInterceptor(component)], options=DEFAULT_OPTIONS
    )
    for add in register:
        add(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    return server, health_servicer, port


async def set_alive(health_servicer: health.aio.HealthServicer) -> None:
    """Mark :data:`LIVENESS_SERVICE` SERVING (call once the server has started)."""
    await health_servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)


async def set_serving(health_servicer: health.aio.HealthServicer, names: Iterable[str], serving: bool) -> None:
    """Mark ``names`` and the overall server ("") SERVING or NOT_SERVING."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *names]:
        await health_servicer.set(name, status)
