"""No user input can wedge a service: the ReDoS request of issue 18 against the real logs service and gateway.

RE2 accepts ``(a+)+$`` and runs it in linear time, so the request that used to spin a CPU for good is now
answered at once (200: no session key matched, the line forms one window); a pattern RE2 cannot run in
linear time (a backreference, look-around) is a 400 naming the construct. Either way the service stays
ready and keeps answering.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.server import LIVENESS_SERVICE
from tests.fuzz.stack import Stack, build_store, start_stack
from tests.support.loop import LoopThread

REDOS_LINE = b"a" * 40 + b"!"  # 41 bytes: Python's re needs ~2^40 steps for (a+)+$ on it
LOGS_GRPC = "polyad.logs.v1.LogsService"


@pytest.fixture(scope="module")
def logs_stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("reliability-store")
    build_store(root, ("logs",))
    stack = start_stack(loop_thread, root, ("logs",))
    yield stack
    stack.stop()


def _status(address: str, name: str) -> int:
    with grpc.insecure_channel(address) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=2).status


def _assert_ready(stack: Stack) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING
    assert _status(stack.address("logs"), LOGS_GRPC) == serving
    assert _status(stack.address("logs"), LIVENESS_SERVICE) == serving
    ready = httpx.get(f"{stack.http}/readyz", params={"all": "true"}, timeout=5)
    assert ready.status_code == 200, ready.text


def _upload(stack: Stack, pattern: str, content: bytes, timeout: float = 5.0) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    reply = httpx.post(f"{stack.http}/v1/logs/detect/file", params={"session_pattern": pattern}, content=content,
                       headers={"content-type": "text/plain"}, timeout=timeout)
    return reply, time.perf_counter() - started


def test_the_redos_request_of_issue_18_is_answered_at_once_and_the_service_stays_ready(logs_stack: Stack) -> None:
    _upload(logs_stack, "", b"warm up the model\n")  # first call loads lazily-imported pieces
    reply, elapsed = _upload(logs_stack, "(a+)+$", REDOS_LINE + b"\n")
    assert reply.status_code in (200, 400), reply.text
    assert reply.status_code == 200  # RE2 runs it: no session key matched, so the line forms one window
    assert [r["line_count"] for r in reply.json()["results"]] == [1]
    assert elapsed < 1.0, f"answered in {elapsed:.3f} s"
    _assert_ready(logs_stack)


def test_catastrophic_patterns_over_many_lines_stay_linear(logs_stack: Stack) -> None:
    content = b"\n".join(b"a" * 280 + b"!" for _ in range(1500))  # under the 2000-line limit of the stack
    for pattern in ("(a+)+$", "(a|aa)+$", "(a*)*b", "(.*a){12}x"):
        reply, elapsed = _upload(logs_stack, pattern, content, timeout=30)
        assert reply.status_code in (200, 400), (pattern, reply.text)
        assert elapsed < 10.0, (pattern, elapsed)  # scoring 1500 lines dominates; the regex part is linear
    _assert_ready(logs_stack)


def test_regex_part_of_the_request_takes_under_100_ms() -> None:
    from services.logs.patterns import compile_user_pattern
    from services.logs.text import group_lines

    started = time.perf_counter()
    pattern = compile_user_pattern("(a+)+$", "file.session_pattern")
    assert pattern is not None
    groups = group_lines([REDOS_LINE.decode()] * 1000, "(a+)+$", 50)
    assert time.perf_counter() - started < 0.1
    assert sum(len(lines) for _, lines in groups) == 1000


@pytest.mark.parametrize(("pattern", "construct"), [
    (r"(a+)\1", r"\1"),                # backreference
    (r"(?P<x>a+)(?P=x)", "(?P"),       # named backreference
    (r"(?=a)a+$", "(?="),              # look-ahead
    (r"(?<!b)a+", "(?<!"),             # look-behind
])
def test_patterns_re2_cannot_run_are_400_naming_the_construct(logs_stack: Stack, pattern: str, construct: str) -> None:
    reply, elapsed = _upload(logs_stack, pattern, REDOS_LINE + b"\n")
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["code"] == "INVALID_ARGUMENT" and construct in error["message"] and "RE2" in error["message"]
    assert "session_pattern" in error["message"]
    assert elapsed < 1.0
    _assert_ready(logs_stack)
