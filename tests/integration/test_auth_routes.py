"""With API keys on, every gateway route enforces them: a table of routes × expected status without / with a key.

The REST table is built from the app's own route list (every ``/v1/<modality>`` endpoint, KServe ``/v2``, the
console, docs), the gRPC table from the service descriptors (``polyad.gateway.v1.GatewayService`` and KServe's
``inference.GRPCInferenceService``). Only probes, metrics, health and reflection are open. No error message
echoes a presented key, right or wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from fastapi.routing import APIRoute
from grpc_health.v1 import health_pb2
from tritonclient.grpc import service_pb2 as kserve_pb

from gateway.app import start_gateway
from gateway.auth import OPEN_REST_PATHS, OPEN_REST_PREFIXES
from gateway.config import GatewaySettings
from polyad.gateway.v1 import gateway_pb2
from tests.support.loop import LoopThread
from tests.support.services import start_timeseries

KEY = "k3y-Polyad-5ecret-0123456789"
WRONG = "k3y-Polyad-5ecret-WRONG-987"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/"})
OPEN_PREFIXES = ("/web/",)  # the console page and its static files (no data; the page asks for the key)
PATH_VALUES = {"modality": "timeseries", "name": "timeseries-comet", "version": "1"}
GRPC_SERVICES = (gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"],
                 kserve_pb.DESCRIPTOR.services_by_name["GRPCInferenceService"])
OPEN_GRPC = (health_pb2.DESCRIPTOR.services_by_name["Health"],)


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every APIRoute, also inside included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods) - {"HEAD"}
        elif hasattr(route, "original_router"):  # an included APIRouter
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)


def _rest_table() -> list[tuple[str, str]]:
    """(method, path template) of every REST route of a gateway app."""
    from gateway.dataplane import DataPlane
    from gateway.rest import create_rest_app

    settings = GatewaySettings(routes={"timeseries": "127.0.0.1:1"})
    app = create_rest_app(DataPlane(settings), settings)
    rows = {(method, path) for path, methods in _routes(app.routes) for method in methods}
    rows |= {("GET", path) for path in ("/docs", "/redoc", "/openapi.json")}
    return sorted(rows, key=lambda row: (row[1], row[0]))


REST_TABLE = _rest_table()
GRPC_TABLE = [(service.full_name, method.name, method.client_streaming or method.server_streaming)
              for service in GRPC_SERVICES for method in service.methods]


@pytest.fixture(scope="module")
def gateway(loop_thread: LoopThread, model_store: Path) -> Iterator[SimpleNamespace]:
    service = start_timeseries(loop_thread, model_store)
    settings = GatewaySettings(grpc_address="127.0.0.1:0", http_address="127.0.0.1:0",
                               routes={"timeseries": f"127.0.0.1:{service.port}"},
                               auth={"enabled": True, "api_keys": [KEY]})
    running = loop_thread.run(start_gateway(settings))
    with grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
        yield SimpleNamespace(http=f"http://127.0.0.1:{running.http_port}", channel=channel)
    loop_thread.run(running.stop())
    loop_thread.run(service.stop())


def _url(base: str, template: str) -> str:
    return base + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES[m.group(1)], template)


def _rest(gateway: SimpleNamespace, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, _url(gateway.http, path), headers=headers, content=b"{}" if method != "GET" else None,
                         timeout=30)


def test_the_open_rest_paths_are_exactly_the_probes_and_metrics() -> None:
    assert frozenset(OPEN_REST_PATHS) == OPEN_PATHS and tuple(OPEN_REST_PREFIXES) == OPEN_PREFIXES
    assert {path for _, path in REST_TABLE} >= OPEN_PATHS
    assert any(path.startswith("/v2/models") for _, path in REST_TABLE)
    assert any(path.startswith("/v1/timeseries") for _, path in REST_TABLE)


@pytest.mark.parametrize(("method", "path"), REST_TABLE, ids=[f"{m} {p}" for m, p in REST_TABLE])
def test_rest_route_without_and_with_a_key(gateway: SimpleNamespace, method: str, path: str) -> None:
    without = _rest(gateway, method, path, {})
    wrong = _rest(gateway, method, path, {"Authorization": f"Bearer {WRONG}"})
    bearer = _rest(gateway, method, path, {"Authorization": f"Bearer {KEY}"})
    api_key = _rest(gateway, method, path, {"X-API-Key": KEY})
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        assert without.status_code != 401, without.text
    else:
        assert without.status_code == 401 and wrong.status_code == 401, (without.text, wrong.text)
        assert without.headers["www-authenticate"].startswith("Bearer")
    for reply in (bearer, api_key):
        assert reply.status_code != 401, reply.text
        assert reply.status_code < 500 or reply.status_code == 503, reply.text  # 503: a model not ready
    for reply in (without, wrong, bearer, api_key):
        assert KEY not in reply.text and WRONG not in reply.text
        assert KEY not in str(reply.headers) and WRONG not in str(reply.headers)


def _grpc(gateway: SimpleNamespace, service: str, method: str, streaming: bool,
          metadata: list[tuple[str, str]]) -> tuple[grpc.StatusCode, str]:
    path = f"/{service}/{method}"
    try:
        if streaming:
            for _ in gateway.channel.stream_stream(path)(iter([b""]), metadata=metadata, timeout=30):
                pass
        else:
            gateway.channel.unary_unary(path)(b"", metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(("service", "method", "streaming"), GRPC_TABLE, ids=[f"{s}/{m}" for s, m, _ in GRPC_TABLE])
def test_grpc_method_without_and_with_a_key(gateway: SimpleNamespace, service: str, method: str,
                                            streaming: bool) -> None:
    answers = {
        "none": _grpc(gateway, service, method, streaming, []),
        "wrong": _grpc(gateway, service, method, streaming, [("authorization", f"Bearer {WRONG}")]),
        "bearer": _grpc(gateway, service, method, streaming, [("authorization", f"Bearer {KEY}")]),
        "x-api-key": _grpc(gateway, service, method, streaming, [("x-api-key", KEY)]),
    }
    assert answers["none"][0] is grpc.StatusCode.UNAUTHENTICATED
    assert answers["wrong"][0] is grpc.StatusCode.UNAUTHENTICATED
    for kind in ("bearer", "x-api-key"):
        code = answers[kind][0]
        assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), \
            (kind, answers[kind])
    for _code, details in answers.values():
        assert KEY not in details and WRONG not in details


def test_health_stays_open(gateway: SimpleNamespace) -> None:
    for service in OPEN_GRPC:
        code, _ = _grpc(gateway, service.full_name, "Check", False, [])
        assert code is grpc.StatusCode.OK


def test_the_route_table_covers_every_grpc_method() -> None:
    names = {(s, m) for s, m, _ in GRPC_TABLE}
    assert ("polyad.gateway.v1.GatewayService", "Detect") in names
    assert ("inference.GRPCInferenceService", "ModelInfer") in names
    assert len(names) == sum(len(service.methods) for service in GRPC_SERVICES)
