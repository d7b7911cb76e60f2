"""The gateway over real loopback gRPC and HTTP: forwarding, error mapping, deadlines and probes.

The servers run on the session's background event loop (``loop_thread``); the tests use sync clients.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from grpc import aio

from gateway.app import RunningGateway, start_gateway
from gateway.config import GatewaySettings
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.timeseries.v1 import timeseries_pb2, timeseries_pb2_grpc
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError, LimitExceededError, ModelNotFoundError
from services.core.server import build_server, set_serving
from services.timeseries.series_csv import parse_series_csv
from tests.support.loop import LoopThread

TS_SERVICE = "polyad.timeseries.v1.TimeSeriesService"
SLOW_S = 1.0
SLACK_S = 0.05  # the grpc-timeout header rounds deadlines up a little


class FakeTimeSeriesUpstream(timeseries_pb2_grpc.TimeSeriesServiceServicer):
    """Test double of an UPSTREAM network peer: a real grpc.aio TimeSeriesService on loopback.

    It stands in for the time-series service (not for anything inside the gateway): it answers
    fixed-shape results (scores rising 0→1 over each series) and misbehaves on request, keyed by the
    first series id: ``slow`` sleeps, ``bad`` / ``missing`` / ``busy`` / ``huge`` fail with INVALID_ARGUMENT,
    NOT_FOUND, RESOURCE_EXHAUSTED (overload) and RESOURCE_EXHAUSTED naming a field (a size limit). It records
    the deadline it saw.
    """

    def __init__(self) -> None:
        self.seen_timeout: float | None = None

    async def StreamDetect(self, requests: Any, context: aio.ServicerContext) -> Any:
        """Echoes each message's stream id with an empty score tensor (enough to hold a stream open)."""
        async for request in requests:
            yield timeseries_pb2.StreamDetectResponse(stream_id=request.stream_id)

    async def Detect(self, request: timeseries_pb2.DetectRequest, context: aio.ServicerContext) -> Any:
        self.seen_timeout = context.time_remaining()
        first = request.series[0].id if request.series else ""
        if first == "slow":
            await asyncio.sleep(SLOW_S)
        elif first == "bad":
            raise InvalidInputError("series[0].values: expected 1 or 2 dimensions")
        elif first == "missing":
            raise ModelNotFoundError("model 'comet' version 'v9' not found")
        elif first == "huge":
            raise LimitExceededError("series[0].values has 9 time steps; the limit is 8", "series[0].values")
        elif first == "busy":
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full, retry later")
        alpha = request.policy.alpha or 0.01
        response = timeseries_pb2.DetectResponse(model=common_pb2.ModelRef(detector="fake", version="v1"))
        for series in request.series:
            if series.csv:  # uploads arrive as raw bytes; the service parses them, as the real one does
                length = len(parse_series_csv(series.csv))
            else:
                length = int(series.values.shape[0]) if series.values.shape else 0
            scores = np.linspace(0.0, 1.0, length, dtype=np.float32)
            p_values = 1.0 - scores.astype(np.float64)
            flags = p_values <= alpha
            result = response.results.add(
                id=series.id, scores=from_numpy(scores), max_score=float(scores.max())
            )
            result.decisions.CopyFrom(
                common_pb2.Decisions(
                    p_values=from_numpy(p_values),
                    anomalous=from_numpy(flags),
                    rule=request.policy.rule,
                    alpha=alpha,
                )
            )
            if flags.any():
                result.regions.add(start=int(np.argmax(flags)), end=length, peak_score=1.0, min_p_value=0.0)
        return response


@dataclass
class Gateway:
    running: RunningGateway
    stub: gateway_pb2_grpc.GatewayServiceStub
    http: httpx.Client


@dataclass
class Stack:
    loop: LoopThread
    upstream: FakeTimeSeriesUpstream
    up: Gateway  # routes timeseries to the fake upstream
    down: Gateway  # routes timeseries to an address where nothing listens
    dead_address: str


def _free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


async def _start_upstream(
    servicer: FakeTimeSeriesUpstream, address: str = "127.0.0.1:0"
) -> tuple[aio.Server, int]:
    def register(server: aio.Server) -> None:
        timeseries_pb2_grpc.add_TimeSeriesServiceServicer_to_server(servicer, server)

    server, health, port = build_server("fake_timeseries", [register], [TS_SERVICE], address)
    await server.start()
    await set_serving(health, [TS_SERVICE], True)
    return server, port


def _settings(route: str) -> GatewaySettings:
    return GatewaySettings(
        grpc_address="127.0.0.1:0",
        http_address="127.0.0.1:0",
        routes={"timeseries": route},
        default_timeout_s=5.0,
        health_timeout_s=0.5,
    )


def _client(running: RunningGateway, channels: list[grpc.Channel]) -> Gateway:
    channel = grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}")
    channels.append(channel)
    http = httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=10.0)
    return Gateway(running, gateway_pb2_grpc.GatewayServiceStub(channel), http)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread) -> Iterator[Stack]:
    loop = loop_thread
    upstream = FakeTimeSeriesUpstream()
    server, port = loop.run(_start_upstream(upstream))
    dead = _free_address()
    up = loop.run(start_gateway(_settings(f"127.0.0.1:{port}")))
    down = loop.run(start_gateway(_settings(dead)))
    channels: list[grpc.Channel] = []
    result = Stack(loop, upstream, _client(up, channels), _client(down, channels), dead)
    try:
        yield result
    finally:
        for gateway in (result.up, result.down):
            gateway.http.close()
        for channel in channels:
            channel.close()
        loop.run(up.stop(grace=0.1))
        loop.run(down.stop(grace=0.1))
        loop.run(server.stop(0.1))


def _request(*ids: str, length: int = 8) -> gateway_pb2.DetectRequest:
    series = [
        timeseries_pb2.Series(id=i, values=from_numpy(np.zeros((length, 2), np.float32)))
        for i in ids or ("a",)
    ]
    policy = common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_ALPHA, alpha=0.2)
    return gateway_pb2.DetectRequest(timeseries=timeseries_pb2.DetectRequest(series=series, policy=policy))


JSON_BODY = {
    "series": [{"id": "a", "values": [0.1, 0.2, 0.3, 0.4, 5.0]}],
    "policy": {"rule": "alpha", "alpha": 0.3},
}


@pytest.fixture(autouse=True)
def keeps_serving(stack: Stack) -> Iterator[None]:
    """After every test (bad requests included), the gateway still answers a good request."""
    yield
    assert stack.up.stub.Detect(_request("ok"), timeout=5).service == "timeseries"
    assert stack.up.http.post("/v1/timeseries/detect", json=JSON_BODY).status_code == 200


def _rpc_error(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_grpc_detect_forwards_and_propagates_deadline(stack: Stack) -> None:
    response = stack.up.stub.Detect(_request("x", "y", length=6), timeout=3.0)
    assert response.service == "timeseries" and response.WhichOneof("result") == "timeseries"
    assert [r.id for r in response.timeseries.results] == ["x", "y"]
    assert to_numpy(response.timeseries.results[0].scores).shape == (6,)
    assert 0 < stack.upstream.seen_timeout <= 3.0 + SLACK_S
    stack.up.stub.Detect(_request("x"))  # no caller deadline: the configured default applies
    assert 3.0 + SLACK_S < stack.upstream.seen_timeout <= 5.0 + SLACK_S


def test_grpc_empty_payload_is_invalid_argument_naming_modalities(stack: Stack) -> None:
    error = _rpc_error(stack.up.stub.Detect, gateway_pb2.DetectRequest(), timeout=5)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "timeseries" in error.details()


def test_rest_unknown_modality_is_400_naming_modalities(stack: Stack) -> None:
    for path, body in [("/v1/vision/detect", {}), ("/v1/detect", {})]:
        reply = stack.up.http.post(path, json=body)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["code"] == "INVALID_ARGUMENT"
        assert "timeseries" in reply.json()["error"]["message"]


def test_upstream_down_is_unavailable_naming_the_service(stack: Stack) -> None:
    error = _rpc_error(stack.down.stub.Detect, _request("a"), timeout=5)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert "timeseries" in error.details() and stack.dead_address in error.details()
    reply = stack.down.http.post("/v1/timeseries/detect", json=JSON_BODY)
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "UNAVAILABLE"
    assert "timeseries" in reply.json()["error"]["message"]


def test_gateway_recovers_when_the_upstream_comes_back(stack: Stack) -> None:
    address = _free_address()
    running = stack.loop.run(start_gateway(_settings(address)))
    channels: list[grpc.Channel] = []
    gateway = _client(running, channels)
    server = None
    try:
        error = _rpc_error(gateway.stub.Detect, _request("a"), timeout=5)
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        server, _ = stack.loop.run(_start_upstream(FakeTimeSeriesUpstream(), address))
        deadline = time.monotonic() + 5.0
        while gateway.http.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the gateway did not notice the upstream came back"
            time.sleep(0.05)
        assert gateway.stub.Detect(_request("a"), timeout=5).service == "timeseries"
    finally:
        gateway.http.close()
        channels[0].close()
        stack.loop.run(running.stop(grace=0.1))
        if server is not None:
            stack.loop.run(server.stop(0.1))


def test_probes_and_service_list(stack: Stack) -> None:
    assert stack.up.http.get("/healthz").json() == {"status": "ok"}
    assert stack.down.http.get("/healthz").status_code == 200
    ready = stack.up.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    not_ready = stack.down.http.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["not_ready"] == ["timeseries"]
    assert not_ready.json()["services"][0]["address"] == stack.dead_address
    listed = stack.down.http.get("/v1/services").json()["services"]
    assert listed == [
        {"name": "timeseries", "modality": "timeseries", "address": stack.dead_address, "ready": False,
         "unavailable_detectors": {}}
    ]
    statuses = stack.up.stub.ListServices(gateway_pb2.ListServicesRequest(), timeout=5).services
    assert [(s.name, s.ready) for s in statuses] == [("timeseries", True)]


def test_deadline_shorter_than_upstream_answer(stack: Stack) -> None:
    error = _rpc_error(stack.up.stub.Detect, _request("slow"), timeout=0.2)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert stack.upstream.seen_timeout is not None and stack.upstream.seen_timeout <= 0.2 + SLACK_S
    slow = {**JSON_BODY, "series": [{"id": "slow", "values": [1.0, 2.0]}]}
    reply = stack.up.http.post("/v1/timeseries/detect", json=slow, headers={"X-Request-Timeout": "0.2"})
    assert reply.status_code == 504 and reply.json()["error"]["code"] == "DEADLINE_EXCEEDED"
    assert "timeseries" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("series_id", "code", "status", "text"),
    [
        ("bad", grpc.StatusCode.INVALID_ARGUMENT, 400, "expected 1 or 2 dimensions"),
        ("missing", grpc.StatusCode.NOT_FOUND, 404, "version 'v9' not found"),
        ("busy", grpc.StatusCode.RESOURCE_EXHAUSTED, 429, "queue full"),
        ("huge", grpc.StatusCode.RESOURCE_EXHAUSTED, 413, "the limit is 8"),
    ],
)
def test_upstream_errors_keep_code_and_message(
    stack: Stack, series_id: str, code: grpc.StatusCode, status: int, text: str
) -> None:
    error = _rpc_error(stack.up.stub.Detect, _request(series_id), timeout=5)
    assert error.code() is code and text in error.details()
    body = {"series": [{"id": series_id, "values": [[1.0, 2.0], [3.0, 4.0]]}]}
    reply = stack.up.http.post("/v1/timeseries/detect", json=body)
    assert reply.status_code == status and reply.json()["error"] == {
        "code": code.name,
        "message": error.details(),
    }


def test_rest_detect_json_shape(stack: Stack) -> None:
    reply = stack.up.http.post("/v1/timeseries/detect", json=JSON_BODY)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["service"] == "timeseries" and body["model"] == {"detector": "fake", "version": "v1"}
    (result,) = body["results"]
    assert result["id"] == "a" and len(result["scores"]) == len(result["p_values"]) == 5
    assert result["anomalous"] == [False, False, False, True, True]
    assert result["regions"] == [{"start": 3, "end": 5, "peak_score": 1.0, "min_p_value": 0.0}]
    assert result["max_score"] == 1.0


def test_rest_generic_proto_json(stack: Stack) -> None:
    from google.protobuf import json_format

    reply = stack.up.http.post("/v1/detect", content=json_format.MessageToJson(_request("p", length=4)))
    assert reply.status_code == 200, reply.text
    assert reply.json()["service"] == "timeseries"
    assert reply.json()["timeseries"]["results"][0]["id"] == "p"


def test_rest_csv_upload(stack: Stack) -> None:
    csv = b"timestamp,a,b,label\n1,0.1,1.0,0\n2,0.2,1.1,0\n3,9.0,1.2,1\n"
    reply = stack.up.http.post(
        "/v1/timeseries/detect/csv?alpha=0.6", files={"file": ("ecg.csv", csv, "text/csv")}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["id"] == "ecg" and len(reply.json()["results"][0]["scores"]) == 3
    raw = stack.up.http.post(
        "/v1/timeseries/detect/csv?rule=bh&id=s1",
        content=b"1\n2\n3\n4\n",
        headers={"content-type": "text/csv"},
    )
    assert raw.status_code == 200 and raw.json()["results"][0]["id"] == "s1"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"content": b'{"series": [', "headers": {"content-type": "application/json"}}, "malformed JSON"),
        ({"json": {"series": [{"id": "a", "values": "abc"}]}}, "series.0.values"),
        ({"json": {"series": [{"values": [1.0]}], "policy": {"alpha": 2}}}, "policy.alpha"),
        ({"json": {"series": [{"values": [1.0]}], "policy": {"rule": "fdr"}}}, "policy.rule"),
        ({"json": {"series": [{"values": [[1.0, 2.0], [3.0]]}]}}, "series[0].values"),
        ({"json": {"series": []}}, "series"),
    ],
)
def test_rest_bad_json_is_400_naming_the_field(stack: Stack, kwargs: dict[str, Any], needle: str) -> None:
    reply = stack.up.http.post("/v1/timeseries/detect", **kwargs)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["code"] == "INVALID_ARGUMENT" and needle in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"a,b\n1,2\n3,x\n", "line 3, column 2 ('b')"),
        (b"a,b\n1,2\n3\n", "line 3: expected 2 columns"),
        (b"a,b\n", "no data rows"),
        (b"\xff\xfe1,2\n", "not valid UTF-8"),
    ],
)
def test_rest_malformed_csv_is_400_naming_the_problem(stack: Stack, data: bytes, needle: str) -> None:
    reply = stack.up.http.post("/v1/timeseries/detect/csv", files={"file": ("f.csv", data, "text/csv")})
    assert reply.status_code == 400, reply.text
    assert needle in reply.json()["error"]["message"]
    missing = stack.up.http.post("/v1/timeseries/detect/csv", files={"other": ("f.csv", data, "text/csv")})
    assert missing.status_code == 400 and "'file'" in missing.json()["error"]["message"]
    generic = stack.up.http.post("/v1/detect", content=b"{not json")
    assert generic.status_code == 400 and generic.json()["error"]["code"] == "INVALID_ARGUMENT"


def test_metrics_and_openapi(stack: Stack) -> None:
    stack.up.stub.Detect(_request("m"), timeout=5)
    metrics = stack.up.http.get("/metrics")
    assert metrics.status_code == 200 and "polyad_requests_total" in metrics.text
    assert 'component="gateway",method="Detect"' in metrics.text
    assert 'component="gateway_rest",method="POST /v1/timeseries/detect"' in metrics.text
    paths = stack.up.http.get("/openapi.json").json()["paths"]
    assert {"/v1/timeseries/detect", "/v1/timeseries/detect/csv", "/v1/detect"} <= set(paths)
    assert stack.up.http.get("/docs").status_code == 200
    unknown = stack.up.http.get("/v2/nothing")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"


def test_one_service_down_keeps_the_gateway_in_rotation(stack: Stack) -> None:
    routes = {"timeseries": stack.up.running.settings.routes["timeseries"], "vision": stack.dead_address}
    running = stack.loop.run(start_gateway(GatewaySettings(
        grpc_address="127.0.0.1:0", http_address="127.0.0.1:0", routes=routes, health_timeout_s=0.5)))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=10.0) as http:
            ready = http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["not_ready"] == ["vision"]
            assert http.get("/readyz", params={"all": "true"}).status_code == 503
    finally:
        stack.loop.run(running.stop(grace=0.1))


@contextmanager
def _limited_gateway(stack: Stack, **limits: int) -> Iterator[tuple[RunningGateway, Any]]:
    """A second gateway in front of the fake upstream with ``limits`` changed, and a stub of it."""
    settings = _settings(stack.up.running.settings.routes["timeseries"]).model_copy(update=limits)
    running = stack.loop.run(start_gateway(settings))
    channel = grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}")
    try:
        yield running, gateway_pb2_grpc.GatewayServiceStub(channel)
    finally:
        channel.close()
        stack.loop.run(running.stop(grace=0.1))


def test_calls_beyond_the_per_service_limit_are_refused_at_once(stack: Stack) -> None:
    """A slow service holds one call; a second one is RESOURCE_EXHAUSTED / 429 at once, naming the limit."""
    from concurrent.futures import ThreadPoolExecutor

    with _limited_gateway(stack, max_inflight_per_service=1) as (running, stub):
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(stub.Detect, _request("slow"), timeout=10)
            time.sleep(0.3)  # the slow call is in flight
            started = time.perf_counter()
            error = _rpc_error(stub.Detect, _request("a"), timeout=10)
            assert time.perf_counter() - started < 0.5
            assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED and "max_inflight_per_service" in error.details()
            with httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=10.0) as http:
                reply = http.post("/v1/timeseries/detect", json={"series": [{"values": [1.0, 2.0]}]})
            assert reply.status_code == 429 and reply.json()["error"]["code"] == "RESOURCE_EXHAUSTED"
            assert slow.result().service == "timeseries"  # the held call still completes
        assert stub.Detect(_request("b"), timeout=10).service == "timeseries"  # and the slot is free again


def test_streams_beyond_the_per_service_limit_are_refused_at_once(stack: Stack) -> None:
    """One stream held open fills ``max_streams_per_service=1``; a second is RESOURCE_EXHAUSTED at once."""
    import queue

    outbox: queue.Queue = queue.Queue()

    def held() -> Iterator[gateway_pb2.StreamDetectRequest]:
        while (message := outbox.get()) is not None:
            yield message

    def message(stream_id: str) -> gateway_pb2.StreamDetectRequest:
        return gateway_pb2.StreamDetectRequest(
            timeseries=timeseries_pb2.StreamDetectRequest(stream_id=stream_id, points=from_numpy(np.ones(4, "f4"))))

    with _limited_gateway(stack, max_streams_per_service=1) as (_, stub):
        try:
            first = stub.StreamDetect(held(), timeout=10)
            outbox.put(message("a"))
            assert next(first).timeseries.stream_id == "a"  # the first stream is open upstream
            started = time.perf_counter()
            with pytest.raises(grpc.RpcError) as caught:
                list(stub.StreamDetect(iter([message("b")]), timeout=10))
            assert time.perf_counter() - started < 0.5
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_streams_per_service" in caught.value.details()
            outbox.put(None)  # close the first stream; its slot is free again
            assert list(first) == []
            again = list(stub.StreamDetect(iter([message("c")]), timeout=10))
            assert [answer.timeseries.stream_id for answer in again] == ["c"]
        finally:
            outbox.put(None)  # never leave the held stream's generator waiting
