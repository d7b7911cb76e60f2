"""Malformed protobuf requests and tensors against every gRPC method of every fuzzed service (directly) and the
gateway's Detect / StreamDetect (every arm, and the generic ``other`` Any): never INTERNAL / UNKNOWN /
UNAVAILABLE for bad input, and every service still ready afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from gateway.routing import PAYLOAD_ARMS
from polyad.gateway.v1 import gateway_pb2
from services.core.spec import service_spec
from tests.fuzz.invariants import assert_all_ready, assert_caller_error
from tests.fuzz.messages import malformed_bytes, mutated, seeds
from tests.fuzz.stack import FUZZED_SERVICES, Stack

TIMEOUT_S = 20.0
METHODS = [(service, method) for service in FUZZED_SERVICES for method in seeds(service)]
STREAM_ARMS = tuple(f.name for f in gateway_pb2.StreamDetectRequest.DESCRIPTOR.oneofs_by_name["payload"].fields
                    if f.name != "other")


@pytest.fixture(scope="module")
def channels(fuzz_stack: Stack) -> Iterator[dict[str, grpc.Channel]]:
    opened = {name: grpc.insecure_channel(fuzz_stack.address(name)) for name in fuzz_stack.services}
    opened["gateway"] = grpc.insecure_channel(fuzz_stack.grpc)
    yield opened
    for channel in opened.values():
        channel.close()
    assert_all_ready(fuzz_stack)


def _call(channel: grpc.Channel, path: str, stream: bool, payloads: list[bytes]) -> tuple[grpc.StatusCode, str]:
    """One call with raw bytes both ways; (code, details)."""
    try:
        if stream:
            for _ in channel.stream_stream(path)(iter(payloads), timeout=TIMEOUT_S):
                pass
        else:
            channel.unary_unary(path)(payloads[0], timeout=TIMEOUT_S)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def _serialized(message: Message) -> bytes:
    return message.SerializeToString()


@pytest.mark.parametrize(("service", "method"), METHODS, ids=[f"{s}.{m}" for s, m in METHODS])
def test_mutated_messages(channels: dict[str, grpc.Channel], fuzz_stack: Stack, service: str, method: str) -> None:
    seed, path = seeds(service)[method], service_spec(service).method_path(method)
    stream = method == "StreamDetect"
    count = st.integers(1, 3) if stream else st.just(1)

    @given(st.lists(mutated(seed, grow=method != "Fit"), min_size=1, max_size=3).flatmap(
        lambda ms: count.map(lambda n: ms[:n])))
    def run(messages: list[Message]) -> None:
        code, details = _call(channels[service], path, stream, [_serialized(m) for m in messages])
        assert_caller_error(code, details, f"{service}.{method}")

    run()
    assert_all_ready(fuzz_stack)


@pytest.mark.parametrize(("service", "method"), METHODS, ids=[f"{s}.{m}" for s, m in METHODS])
def test_malformed_bytes(channels: dict[str, grpc.Channel], fuzz_stack: Stack, service: str, method: str) -> None:
    seed, path = seeds(service)[method], service_spec(service).method_path(method)

    @given(malformed_bytes(seed))
    def run(data: bytes) -> None:
        code, details = _call(channels[service], path, method == "StreamDetect", [data])
        assert_caller_error(code, details, f"{service}.{method} (bytes)")

    run()
    assert_all_ready(fuzz_stack)


def _packed(message: Message, type_url: str | None = None) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    if type_url is not None:
        packed.type_url = type_url
    return packed


@pytest.mark.parametrize("service", FUZZED_SERVICES)
def test_gateway_detect(channels: dict[str, grpc.Channel], fuzz_stack: Stack, service: str) -> None:
    """Through the gateway: the service's own arm where it has one, else the ``other`` Any."""
    seed = seeds(service)["Detect"]
    path = "/polyad.gateway.v1.GatewayService/Detect"

    @given(mutated(seed), st.booleans())
    def run(message: Message, as_any: bool) -> None:
        if service in PAYLOAD_ARMS and not as_any:
            request = gateway_pb2.DetectRequest(**{service: message})
        else:
            request = gateway_pb2.DetectRequest(other=_packed(message))
        code, details = _call(channels["gateway"], path, False, [_serialized(request)])
        assert_caller_error(code, details, f"gateway Detect ({service})")

    run()
    assert_all_ready(fuzz_stack)


@pytest.mark.parametrize("service", [s for s in FUZZED_SERVICES if "StreamDetect" in seeds(s)])
def test_gateway_stream_detect(channels: dict[str, grpc.Channel], fuzz_stack: Stack, service: str) -> None:
    seed = seeds(service)["StreamDetect"]
    path = "/polyad.gateway.v1.GatewayService/StreamDetect"

    @given(st.lists(mutated(seed), min_size=1, max_size=3), st.booleans())
    def run(messages: list[Message], as_any: bool) -> None:
        arm = service if service in STREAM_ARMS and not as_any else "other"
        requests = [gateway_pb2.StreamDetectRequest(**{arm: m if arm != "other" else _packed(m)}) for m in messages]
        code, details = _call(channels["gateway"], path, True, [_serialized(r) for r in requests])
        assert_caller_error(code, details, f"gateway StreamDetect ({service})")

    run()
    assert_all_ready(fuzz_stack)


TYPE_URLS = st.sampled_from([
    "", "type.googleapis.com/", "type.googleapis.com/polyad.nope.v1.DetectRequest",
    "type.googleapis.com/polyad.logs.v1.FitRequest", "polyad.vision.v1.DetectRequest",
    "type.googleapis.com/polyad.graph.v1.DetectRequest", "type.googleapis.com/polyad.tensorstream.v1.DetectRequest",
    "type.googleapis.com/polyad.medical.v1.DetectRequest", "x/" * 200,
]) | st.text(max_size=60)


def test_gateway_other_arm_with_any_type_and_bytes(channels: dict[str, grpc.Channel], fuzz_stack: Stack) -> None:
    """The generic arm: unknown / wrong / unrouted type URLs, and random bytes as the packed value."""

    @given(TYPE_URLS, st.binary(max_size=200), st.booleans())
    def run(type_url: str, value: bytes, stream: bool) -> None:
        packed = any_pb2.Any(type_url=type_url, value=value)
        if stream:
            request: Message = gateway_pb2.StreamDetectRequest(other=packed)
            path = "/polyad.gateway.v1.GatewayService/StreamDetect"
        else:
            request, path = gateway_pb2.DetectRequest(other=packed), "/polyad.gateway.v1.GatewayService/Detect"
        code, details = _call(channels["gateway"], path, stream, [_serialized(request)])
        assert_caller_error(code, details, f"gateway other {type_url!r}")

    run()
    assert_all_ready(fuzz_stack)


@pytest.mark.parametrize("method", ["Detect", "StreamDetect", "ListServices"])
def test_gateway_random_bytes(channels: dict[str, grpc.Channel], fuzz_stack: Stack, method: str) -> None:
    path = f"/polyad.gateway.v1.GatewayService/{method}"

    @given(st.binary(max_size=300))
    def run(data: bytes) -> None:
        code, details = _call(channels["gateway"], path, method == "StreamDetect", [data])
        assert_caller_error(code, details, f"gateway {method} (bytes)")

    run()
    assert_all_ready(fuzz_stack)
