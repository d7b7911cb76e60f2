"""API-key / bearer-token authentication of the gateway, for gRPC (metadata) and REST (headers).

A caller sends ``authorization: Bearer <key>`` or ``x-api-key: <key>``. Keys are compared in
constant time against every configured key; a missing or wrong key is UNAUTHENTICATED / 401 and is
counted in ``polyad_unauthenticated_total``. Health checks, reflection, probes and metrics stay open
(Kubernetes probes and Prometheus scrapes carry no key).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.core.metrics import UNAUTHENTICATED

__all__ = ["AuthInterceptor", "AuthSettings", "Authenticator", "RestAuthMiddleware"]

OPEN_GRPC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                      "/grpc.reflection.v1.ServerReflection/")
OPEN_REST_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/"})
OPEN_REST_PREFIXES = ("/web/",)  # the console's static files hold no data; the page itself asks for the key
CHALLENGE = 'Bearer realm="polyad", charset="UTF-8"'


class AuthSettings(BaseModel):
    """Accepted keys: inline (``api_keys``) and/or one per line in ``api_keys_file`` (a mounted Secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="Require a key on every gRPC and REST call except probes/metrics.")
    api_keys: list[SecretStr] = Field(default_factory=list, description="Accepted API keys / bearer tokens.")
    api_keys_file: str | None = Field(None, description="File with one accepted key per line (# comments).")


class Authenticator:
    """Checks a presented key against the configured ones in constant time."""

    def __init__(self, settings: AuthSettings) -> None:
        keys = [key.get_secret_value() for key in settings.api_keys]
        if settings.api_keys_file is not None:
            lines = Path(settings.api_keys_file).read_text(encoding="utf-8").splitlines()
            keys += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if settings.enabled and not keys:
            raise ValueError("auth.enabled is true but no API key is configured (api_keys or api_keys_file)")
        self.enabled = settings.enabled
        self._keys = [key.encode() for key in keys]

    def accepts(self, presented: str | None) -> bool:
        """True when auth is off or ``presented`` equals a configured key (every key is compared)."""
        if not self.enabled:
            return True
        candidate = (presented or "").encode()
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return matched and bool(candidate)

    @staticmethod
    def key_from(headers: Iterable[tuple[str, str]]) -> str | None:
        """The key of ``authorization: Bearer …`` or ``x-api-key`` among (lower-case name, value) pairs."""
        for name, value in headers:
            if name == "x-api-key":
                return value.strip()
            if name == "authorization":
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == "bearer":
                    return token.strip()
        return None


class AuthInterceptor(aio.ServerInterceptor):
    """Rejects gRPC calls without a valid key (UNAUTHENTICATED), except health and reflection."""

    def __init__(self, authenticator: Authenticator, component: str = "gateway") -> None:
        self.authenticator = authenticator
        self.component = component

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_GRPC_PREFIXES):
            return handler
        metadata = [(name.lower(), value) for name, value in details.invocation_metadata or ()
                    if isinstance(value, str)]
        if self.authenticator.accepts(Authenticator.key_from(metadata)):
            return handler
        UNAUTHENTICATED.labels(self.component).inc()
        return _rejecting(handler)


def _rejecting(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same kind as ``handler`` that aborts with UNAUTHENTICATED."""
    message = "missing or invalid API key: send 'authorization: Bearer <key>' or 'x-api-key: <key>' metadata"

    async def unary(request: Any, context: aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def stream(requests: Any, context: aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover  (makes this an async generator)

    kinds = {
        "unary_unary": (grpc.unary_unary_rpc_method_handler, unary),
        "unary_stream": (grpc.unary_stream_rpc_method_handler, stream),
        "stream_unary": (grpc.stream_unary_rpc_method_handler, unary),
        "stream_stream": (grpc.stream_stream_rpc_method_handler, stream),
    }
    for attribute, (factory, behaviour) in kinds.items():
        if getattr(handler, attribute) is not None:
            return factory(behaviour, request_deserializer=handler.request_deserializer,
                           response_serializer=handler.response_serializer)
    return handler


class RestAuthMiddleware:
    """ASGI middleware: 401 with ``WWW-Authenticate`` for REST calls without a valid key."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, component: str = "gateway") -> None:
        self.app = app
        self.authenticator = authenticator
        self.component = component

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_REST_PATHS or path.startswith(OPEN_REST_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
        if self.authenticator.accepts(Authenticator.key_from(headers)):
            await self.app(scope, receive, send)
            return
        UNAUTHENTICATED.labels(self.component).inc()
        response = JSONResponse(
            {"error": {"code": "UNAUTHENTICATED",
                       "message": "missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key'"}},
            status_code=401,
            headers={"WWW-Authenticate": CHALLENGE},
        )
        await response(scope, receive, send)
