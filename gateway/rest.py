"""The REST/JSON proxy: a thin FastAPI adapter over the same data plane as the gRPC service.

Errors use one shape, ``{"error": {"code": "INVALID_ARGUMENT", "message": "..."}}``, with the HTTP
status of the error's class (``services.core.errors``) or of the upstream's gRPC code.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import schemas
from gateway.config import GatewaySettings
from gateway.dataplane import HTTP_STATUS_BY_CODE, DataPlane
from gateway.kserve_dataplane import KServeDataPlane
from gateway.kserve_rest import add_kserve_routes
from gateway.modalities import modality_modules
from gateway.web_routes import add_web_routes
from polyad.gateway.v1 import gateway_pb2
from services.core.errors import (
    PolyadError,
    grpc_status_for,
    http_status_for,
    public_message,
)
from services.core.metrics import LATENCY, REQUESTS

__all__ = ["create_rest_app"]

log = logging.getLogger(__name__)

_CODE_BY_HTTP = {status: code.name for code, status in reversed(HTTP_STATUS_BY_CODE.items())}
_CODE_BY_HTTP.update(
    {400: "INVALID_ARGUMENT", 405: "UNIMPLEMENTED", 413: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
)
_UNCOUNTED = frozenset({"/metrics", "/healthz", "/readyz", "/docs", "/openapi.json", "/redoc"})


def _code_name(status: int) -> str:
    return _CODE_BY_HTTP.get(
        status, "OK" if status < 400 else "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"
    )


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _on_error(request: Request, error: Exception) -> JSONResponse:
    """The one error handler: our exceptions keep their status and message, others are INTERNAL."""
    if isinstance(error, StarletteHTTPException):
        return _error(error.status_code, _code_name(error.status_code), str(error.detail))
    # unexpected exceptions are logged with their traceback by the server; ours only when INTERNAL
    if isinstance(error, PolyadError) and grpc_status_for(error) is grpc.StatusCode.INTERNAL:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return _error(http_status_for(error), grpc_status_for(error).name, public_message(error))


async def _on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
    """Request validation errors are bad input: 400 naming the field (not FastAPI's 422)."""
    parts: list[str] = []
    for item in error.errors():
        # drop "body" and union-member tags such as "list[float]" from the location
        loc = [str(p) for p in item.get("loc", ()) if p != "body" and "[" not in str(p)]
        where, detail = ".".join(loc) or "body", item.get("msg", "invalid")
        if item.get("type") == "json_invalid":
            where, detail = "body", f"malformed JSON ({item.get('ctx', {}).get('error', 'cannot parse')})"
        elif where == "body" and "json" not in request.headers.get("content-type", ""):
            detail += " (send Content-Type: application/json)"
        if f"{where}: {detail}" not in parts:
            parts.append(f"{where}: {detail}")
    return _error(400, "INVALID_ARGUMENT", "; ".join(parts[:3]) or "invalid request")


class _HttpMetrics:
    """Pure ASGI middleware: counts requests by route and status, refuses oversized bodies early."""

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in _UNCOUNTED:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            response = _error(
                413, "RESOURCE_EXHAUSTED", f"body of {int(length)} bytes exceeds {self.max_body}"
            )
            await response(scope, receive, send)
            status = 413
        else:

            async def counting_send(message: dict) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, counting_send)
            finally:
                self._record(scope, status, started)
            return
        self._record(scope, status, started)

    @staticmethod
    def _record(scope: dict, status: int, started: float) -> None:
        method = f"{scope['method']} {getattr(scope.get('route'), 'path', 'unmatched')}"
        REQUESTS.labels("gateway_rest", method, _code_name(status)).inc()
        LATENCY.labels("gateway_rest", method).observe(time.perf_counter() - started)


def _proto_json(message: Any) -> JSONResponse:
    return JSONResponse(json_format.MessageToDict(message))


def create_rest_app(dataplane: DataPlane, settings: GatewaySettings) -> FastAPI:
    """The FastAPI app: probes, metrics, service list and the detect endpoints (docs at /docs)."""
    app = FastAPI(
        title="Polyad gateway",
        version="1",
        description="REST/JSON proxy of polyad.gateway.v1.GatewayService: anomaly detection by modality.",
    )
    app.add_middleware(_HttpMetrics, max_body=settings.max_upload_bytes)
    app.add_exception_handler(Exception, _on_error)  # unexpected: 500, logged
    for kind in (StarletteHTTPException, PolyadError):  # expected: their own status, not logged
        app.add_exception_handler(kind, _on_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    router = dataplane.router

    @app.get("/healthz", tags=["probes"], summary="The process is alive.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="200 when a routed service is SERVING (with ?all=true: every one), else 503.",
        description="One service without a model must not take the whole gateway out of rotation, so by "
        "default the gateway is ready when it can answer some modality; the body lists the others.",
        responses={503: {"description": "No routed service (or, with all=true, not every one) is ready."}},
    )
    async def readyz(require_all: bool = Query(False, alias="all")) -> JSONResponse:
        services = (await dataplane.list_services()).services
        not_ready = [s.name for s in services if not s.ready]
        listed = [schemas.service_json(s) for s in services]
        ready = not not_ready if require_all else len(not_ready) < len(services)
        body = {"ready": ready, "not_ready": not_ready, "services": listed}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["probes"], summary="Prometheus metrics.", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/v1/services",
        tags=["services"],
        response_model=schemas.ServicesOut,
        summary="The routing table and each service's readiness.",
    )
    async def services() -> JSONResponse:
        listed = await dataplane.list_services()
        return JSONResponse({"services": [schemas.service_json(s) for s in listed.services]})

    for module in modality_modules().values():
        module.add_routes(app, dataplane, router)
    add_kserve_routes(app, KServeDataPlane(dataplane))
    add_web_routes(app, dataplane)  # the web console at / (gateway/web)

    @app.post(
        "/v1/detect",
        tags=["generic"],
        openapi_extra=schemas.PROTO_BODY,
        responses=schemas.ERROR_RESPONSES,
        summary="Detect with the protobuf JSON mapping of polyad.gateway.v1.DetectRequest.",
    )
    async def detect(request: Request, timeout: schemas.Timeout = None) -> JSONResponse:
        message = schemas.parse_proto_json(await request.body(), gateway_pb2.DetectRequest())
        return _proto_json(await dataplane.detect(message, timeout))

    @app.post(
        "/v1/{modality}/detect",
        tags=["generic"],
        openapi_extra=schemas.PROTO_BODY,
        responses=schemas.ERROR_RESPONSES,
        summary="Detect with the protobuf JSON mapping of one modality's own DetectRequest.",
    )
    async def modality_detect(modality: str, request: Request, timeout: schemas.Timeout = None) -> JSONResponse:
        route = router.get(modality)
        payload = schemas.parse_proto_json(await request.body(), route.spec.messages().DetectRequest())
        return _proto_json(await dataplane.native(route, payload, timeout))

    return app
