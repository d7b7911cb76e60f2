"""The logs service over real loopback gRPC, through the gateway (unary, streaming) and REST file upload."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.logs.v1 import logs_pb2 as pb
from polyad.logs.v1 import logs_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import to_numpy
from tests.contract.logs_case import SMALL_CONFIGS
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

TINY = {**SMALL_CONFIGS["logs.contralog"], "session_pattern": r"(blk_-?\d+)"}
ERROR = "081109 203615 148 WARN dfs.DataNode$DataXceiver: writeBlock {b} received exception java.io.IOException: boom"


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    from services.logs.data import generated_hdfs

    train = generated_hdfs(160, anomaly_rate=0.0, seed=5)
    test = generated_hdfs(12, anomaly_rate=0.0, seed=6)
    sessions = [s.split("\n") for s in test.sessions]
    block = test.ids[0]
    broken = [*sessions[0][:3], ERROR.format(b=block), *sessions[0][3:]]
    return SimpleNamespace(train=train.sessions, normal=sessions[1:], broken=broken, block=block)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          data: SimpleNamespace) -> Iterator[SimpleNamespace]:
    import torch

    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.logs.config import LogsSettings
    from services.logs.detectors.contralog import ContraLogDetector

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("logs-store")
    fit_and_store(ModelStore(root), "logs", ContraLogDetector(TINY), *chronological_split(data.train, 0.25))
    settings = LogsSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                            max_session_lines=60, max_line_chars=300, min_fit_sessions=10)
    service = loop_thread.run(start("logs", settings))
    gateway = start_gateway(loop_thread, {"logs": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw), service=pb_grpc.LogsServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}", address=f"127.0.0.1:{gateway.grpc_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def _session(lines: list[str], name: str = "") -> pb.Session:
    return pb.Session(id=name, lines=[line.encode() for line in lines])


def _detect(stack: SimpleNamespace, request: pb.DetectRequest) -> pb.DetectResponse:
    return stack.gateway.Detect(gateway_pb2.DetectRequest(logs=request), timeout=60).logs


def test_detect_through_gateway_names_the_lines_that_drove_the_score(stack: SimpleNamespace,
                                                                    data: SimpleNamespace) -> None:
    request = pb.DetectRequest(sessions=[_session(data.broken, "broken"), *map(_session, data.normal)],
                               include_line_scores=True, top_lines=2)
    reply = _detect(stack, request)
    broken, *normal = reply.results
    assert broken.id == "broken" and normal[0].id == "1" and reply.model.detector == "contralog"
    assert broken.score > np.median([r.score for r in normal])
    assert "IOException" in broken.top_lines[0].text and broken.top_lines[0].index == 3
    assert len(broken.top_lines) == 2 and to_numpy(broken.line_scores).shape == (len(data.broken),)
    assert all(0 < r.p_value <= 1 for r in reply.results)


def test_log_file_is_grouped_by_the_models_session_pattern(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    lines = [line for session in data.normal[:3] for line in session]
    content = "\n\n".join(lines).encode() + b"\n\xff\xfe broken bytes without a block\n"
    reply = _detect(stack, pb.DetectRequest(file=pb.LogFile(name="f.log", content=content)))
    ids = [r.id for r in reply.results]
    assert ids[:3] == [s[0].split()[-1] for s in data.normal[:3]] and ids[3] == "f.log:window-0"
    assert reply.input.skipped_empty_lines >= len(lines) - 1
    assert "\ufffd" in reply.results[3].top_lines[0].text


def test_stream_through_gateway_keeps_interleaved_sessions_apart(stack: SimpleNamespace,
                                                                 data: SimpleNamespace) -> None:
    sessions = {"a": data.broken, "b": data.normal[0], "c": data.normal[1]}
    rows = [(key, lines[i]) for i in range(max(map(len, sessions.values())))
            for key, lines in sessions.items() if i < len(lines)]

    def requests() -> Iterator[gateway_pb2.StreamDetectRequest]:
        for start in range(0, len(rows), 7):
            chunk = [pb.LogLine(text=line.encode(), session_key=key) for key, line in rows[start:start + 7]]
            yield gateway_pb2.StreamDetectRequest(logs=pb.StreamDetectRequest(lines=chunk))
        yield gateway_pb2.StreamDetectRequest(logs=pb.StreamDetectRequest(close_sessions=["a", "b"]))

    replies = [r.logs for r in stack.gateway.StreamDetect(requests(), timeout=60)]
    lines = [line for reply in replies for line in reply.lines]
    assert len(lines) == len(rows)
    assert [x.index for x in lines if x.session_key == "a"] == list(range(len(data.broken)))
    closed = {s.result.id: s for reply in replies for s in reply.sessions}
    assert closed["a"].reason == pb.CLOSE_REASON_REQUESTED and closed["c"].reason == pb.CLOSE_REASON_END_OF_STREAM
    batch = _detect(stack, pb.DetectRequest(sessions=[_session(s) for s in sessions.values()]))
    for key, result in zip(sessions, batch.results, strict=True):
        assert closed[key].result.score == pytest.approx(result.score, rel=1e-4, abs=1e-4)
        assert closed[key].result.line_count == len(sessions[key])
    assert "IOException" in closed["a"].result.top_lines[0].text


def test_stream_slides_windows_over_unkeyed_lines(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    lines = [pb.LogLine(text=b"kernel: all quiet " + str(i).encode()) for i in range(12)]
    first = pb.StreamDetectRequest(lines=lines, session_pattern="^$never", window_lines=5)
    replies = list(stack.service.StreamDetect(iter([first]), timeout=60))
    windows = [s for r in replies for s in r.sessions]
    assert [(s.result.id, s.reason) for s in windows[:2]] == [("window-0", pb.CLOSE_REASON_WINDOW),
                                                              ("window-1", pb.CLOSE_REASON_WINDOW)]
    assert windows[2].result.line_count == 2 and windows[2].reason == pb.CLOSE_REASON_END_OF_STREAM


def test_rest_log_file_upload(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    content = "\n".join(data.broken + data.normal[0]).encode()
    reply = httpx.post(f"{stack.http}/v1/logs/detect/file", params={"top_lines": 1},
                       files={"file": ("hdfs.log", content, "text/plain")}, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [r["id"] for r in body["results"]] == [data.block, data.normal[0][0].split()[-1]]
    assert "IOException" in body["results"][0]["top_lines"][0]["text"]
    empty = httpx.post(f"{stack.http}/v1/logs/detect/file", files={"file": ("e.log", b"\n \n", "text/plain")},
                       timeout=10)
    assert empty.status_code == 400 and "empty" in empty.json()["error"]["message"]
    bad = httpx.post(f"{stack.http}/v1/logs/detect/file", params={"session_pattern": "(unclosed"},
                     content=content, timeout=10)
    assert bad.status_code == 400 and "regular expression" in bad.json()["error"]["message"]


BAD_REQUESTS = {
    "no sessions": (pb.DetectRequest(), "at least one session"),
    "blank session": (pb.DetectRequest(sessions=[pb.Session(lines=[b"", b"  "])]), "no non-blank lines"),
    "too many lines": (pb.DetectRequest(sessions=[pb.Session(lines=[b"x"] * 61)]), "the limit is 60"),
    "both inputs": (pb.DetectRequest(sessions=[pb.Session(lines=[b"x"])], file=pb.LogFile(content=b"x")),
                    "not both"),
    "top_lines": (pb.DetectRequest(sessions=[pb.Session(lines=[b"x"])], top_lines=1000), "top_lines"),
    "alpha": (pb.DetectRequest(sessions=[pb.Session(lines=[b"x"])], policy=common_pb2.DecisionPolicy(alpha=3)),
              "alpha"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_input_is_invalid_argument_and_service_keeps_serving(stack: SimpleNamespace, case: str) -> None:
    request, fragment = BAD_REQUESTS[case]
    with pytest.raises(grpc.RpcError) as caught:
        _detect(stack, request)
    over_limit = case == "too many lines"  # well formed but too big: RESOURCE_EXHAUSTED (HTTP 413)
    expected = grpc.StatusCode.RESOURCE_EXHAUSTED if over_limit else grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.code() == expected and fragment in caught.value.details()
    assert _detect(stack, pb.DetectRequest(sessions=[pb.Session(lines=[b"still serving"])])).results


def test_non_utf8_and_long_lines_are_handled_the_documented_way(stack: SimpleNamespace) -> None:
    lines = [b"\xc3\x28 invalid \xff bytes", b"y" * 1000, b"", b"ok line"]
    reply = stack.service.Detect(pb.DetectRequest(sessions=[pb.Session(lines=lines)], include_line_scores=True),
                                 timeout=30)
    result = reply.results[0]
    assert result.line_count == 3 and reply.input.truncated_lines == 1 and reply.input.skipped_empty_lines == 1
    texts = {line.text for line in result.top_lines}
    assert "\ufffd( invalid \ufffd bytes" in texts and "y" * 300 in texts


def test_cli_score_lists_flagged_sessions_with_their_lines(stack: SimpleNamespace, data: SimpleNamespace,
                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Runs before test_fit_and_model_info, which replaces the LATEST model with a barely trained one."""
    import json
    import subprocess
    import sys

    log = tmp_path / "system.log"
    log.write_text("\n".join([*data.broken, *(line for session in data.normal for line in session)]) + "\n")
    command = [sys.executable, "-m", "polyad.cli", "score", "logs", str(log), "--gateway", stack.address,
               "--alpha", "0.05", "--session-pattern", TINY["session_pattern"]]
    result = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)[0]
    assert report["sessions"] == 1 + len(data.normal)
    flagged = {item["session"]: item for item in report["flagged"]}
    assert data.block in flagged, report
    assert any("IOException: boom" in line["text"] for line in flagged[data.block]["top_lines"])
    table = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and "sessions flagged" in table.stdout and data.block in table.stdout


def test_kserve_v2_sessions_as_bytes_equal_native_detect(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    """The stock tritonclient (gRPC and HTTP) sends BYTES sessions; scores equal the native Detect's."""
    import tritonclient.grpc as tgrpc
    import tritonclient.http as thttp

    texts = ["\n".join(data.broken), *("\n".join(session) for session in data.normal[:3])]
    sessions = np.array([text.encode() for text in texts], dtype=object)
    native = _detect(stack, pb.DetectRequest(sessions=[_session(text.split("\n")) for text in texts]))
    expected = np.array([r.score for r in native.results], dtype=np.float32)
    grpc_client = tgrpc.InferenceServerClient(stack.address)
    http_client = thttp.InferenceServerClient(stack.http.removeprefix("http://"))
    try:
        meta = grpc_client.get_model_metadata("logs-contralog", as_json=True)
        assert meta["inputs"] == [{"name": "sessions", "datatype": "BYTES", "shape": ["-1"]}]
        tensor = tgrpc.InferInput("sessions", [len(texts)], "BYTES")
        tensor.set_data_from_numpy(sessions)
        assert np.array_equal(grpc_client.infer("logs-contralog", [tensor]).as_numpy("scores"), expected)
        for binary in (True, False):
            rest = thttp.InferInput("sessions", [len(texts)], "BYTES")
            rest.set_data_from_numpy(sessions, binary_data=binary)
            assert np.array_equal(http_client.infer("logs-contralog", [rest]).as_numpy("scores"), expected)
    finally:
        grpc_client.close()
        http_client.close()


def test_fit_and_model_info(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    before = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert before.modality == "logs" and before.calibration_size > 0
    sessions = [_session(s.split("\n")) for s in data.train[:24]]
    config = '{"train_steps": 5, "d_model": 16, "n_heads": 2, "n_layers": 1, "vocab_size": 200, "memory_size": 32}'
    fitted = stack.service.Fit(pb.FitRequest(sessions=sessions, config_json=config), timeout=120).model
    assert fitted.version != before.version and fitted.calibration_size == 5
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(sessions=sessions[:3]), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at least 10" in caught.value.details()
