"""``polyad up`` on Ray with every registered service plus a toy fifth service declared only by its spec.

The four real services get tiny pre-trained models (seconds); the toy service (``tests/toy``: spec,
servicer, gateway adapter, CLI hooks, detector, and a proto compiled here) is added through
``POLYAD_SERVICE_SPECS`` and its default model is trained by ``polyad up`` itself. The suite must
reach ``/readyz?all=true`` on Ray (2 CPUs here), route the toy service over gRPC and REST, list it,
serve it over KServe v2 and the CLI, restart a killed service, and stop on Ctrl-C within 15 s.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from services.core.codecs import from_numpy, to_numpy
from services.core.spec import service_specs
from tests.support.output import ProcessOutput
from tests.support.ports import free_ports

# 900 s: the first test also trains the tiny defaults and starts nine services (266 s on a quiet machine)
pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = tuple(name for name in service_specs())  # every registered service
READY_S = 600.0


def _compile_toy_proto(out: Path) -> None:
    from grpc_tools import protoc

    include = str(resources.files("grpc_tools") / "_proto")
    args = ["protoc", f"-I{ROOT / 'tests' / 'toy' / 'proto'}", f"-I{ROOT / 'proto'}", f"-I{include}",
            f"--python_out={out}", f"--grpc_python_out={out}", "toy/echo/v1/toy.proto"]
    assert protoc.main(args) == 0
    for package in ("toy", "toy/echo", "toy/echo/v1"):
        (out / package / "__init__.py").touch()


def _train_tiny_defaults(store: Path) -> None:
    """Every real service's default model with a tiny configuration (fast, not accurate)."""
    from services.core.spec import load_object
    from services.core.store import ModelStore
    from tests.conftest import TINY_COMET, TINY_MULTI_AD
    from tests.contract.cases import small_config

    overrides = {"timeseries": {**TINY_COMET, "train_steps": 10}, "vision": TINY_MULTI_AD,
                 "logs": {**small_config("logs.contralog"), "train_steps": 20}}
    for name, spec in service_specs().items():
        tiny = overrides.get(name, small_config(f"{name}.{spec.default_detector}") or {})
        load_object(spec.default_model)(ModelStore(store), progress=False, overrides=tiny)


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    generated = tmp_path_factory.mktemp("toy-protos")
    _compile_toy_proto(generated)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(generated)]),
            "POLYAD_SERVICE_SPECS": "tests.toy.spec:SPEC", "COLUMNS": "120"}


@pytest.fixture(scope="module")
def suite(toy_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    store = tmp_path_factory.mktemp("suite-store")
    _train_tiny_defaults(store)
    *service_ports, grpc_port, http_port = free_ports(len(SERVICES) + 3)
    ports = dict(zip((*SERVICES, "toy"), service_ports, strict=True))
    command = [sys.executable, "-m", "polyad.cli", "up", "--backend", "ray", "--store", str(store),
               "--services", ",".join([*SERVICES, "toy"]), "--grpc-port", str(grpc_port),
               "--http-port", str(http_port), *[arg for n, p in ports.items() for arg in (f"--{n}-port", str(p))]]
    process = subprocess.Popen(command, cwd=ROOT, env=toy_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)  # its own group: the test sends "Ctrl-C" to it
    output = ProcessOutput(process)
    try:
        output.wait_for_marker(READY_S)
        yield SimpleNamespace(process=process, lines=output.lines, ports=ports, gateway=f"127.0.0.1:{grpc_port}",
                              http=f"http://127.0.0.1:{http_port}", env=toy_env)
    finally:
        if process.poll() is None:  # Ctrl-C first: SIGKILL alone would leave `polyad up`'s Ray head running
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)


def _toy_messages(env: dict[str, str]):  # type: ignore[no-untyped-def]
    generated = env["PYTHONPATH"].split(os.pathsep)[1]
    if generated not in sys.path:
        sys.path.append(generated)
    from toy.echo.v1 import toy_pb2  # type: ignore[import-not-found]

    return toy_pb2


def test_every_service_is_ready_on_ray_with_a_resource_plan(suite: SimpleNamespace) -> None:
    reply = httpx.get(f"{suite.http}/readyz", params={"all": "true"}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert {s["name"] for s in reply.json()["services"]} == {*SERVICES, "toy"}
    plan = next(line for line in suite.lines if "replicas on" in line)
    assert re.search(rf"{len(SERVICES) + 1} replicas on [\d.]+ CPUs", plan), plan


def _listing_once_all_ready(stub: gateway_pb2_grpc.GatewayServiceStub, wait_s: float = 30.0) -> dict[str, bool]:
    """ListServices' readiness map, asked again (up to ``wait_s``) while some service is not ready: on a loaded
    2-core machine one health check can miss the gateway's 1 s timeout, which is a real but passing state."""
    deadline = time.monotonic() + wait_s
    while True:
        listed = {s.name: s.ready for s in stub.ListServices(gateway_pb2.ListServicesRequest(), timeout=10).services}
        if all(listed.values()) or time.monotonic() > deadline:
            return listed
        time.sleep(1.0)


def test_the_toy_service_is_routed_listed_and_served(suite: SimpleNamespace) -> None:
    toy_pb2 = _toy_messages(suite.env)
    values = np.array([0.1, -0.3, 9.0], dtype=np.float32)
    request = gateway_pb2.DetectRequest()
    request.other.Pack(toy_pb2.DetectRequest(values=from_numpy(values)))
    with grpc.insecure_channel(suite.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        reply = stub.Detect(request, timeout=30)
        listed = _listing_once_all_ready(stub)
    assert reply.service == "toy" and reply.other.type_url.endswith("toy.echo.v1.DetectResponse")
    answer = toy_pb2.DetectResponse.FromString(reply.other.value)
    scores = to_numpy(answer.scores)
    assert scores.shape == (3,) and int(np.argmax(scores)) == 2 and answer.model.detector == "distance"
    assert listed == {**dict.fromkeys(SERVICES, True), "toy": True}

    rest = httpx.post(f"{suite.http}/v1/toy/detect", timeout=30,
                      content=json.dumps({"values": {"dtype": "DATA_TYPE_FLOAT32", "shape": [3],
                                                     "data": _b64(values)}}))
    assert rest.status_code == 200, rest.text
    assert len(rest.json()["decisions"]["anomalous"]["shape"]) == 1
    index = httpx.post(f"{suite.http}/v2/repository/index", timeout=30).json()
    assert {"name": "toy-distance", "version": "", "state": "READY", "reason": ""} in index
    real = {f"{name}-{spec.default_detector}" for name, spec in service_specs().items() if spec.gateway}
    assert real <= {m["name"] for m in index}
    infer = httpx.post(f"{suite.http}/v2/models/toy-distance/infer", timeout=30, json={
        "inputs": [{"name": "values", "datatype": "FP32", "shape": [3], "data": values.tolist()}]})
    assert infer.status_code == 200, infer.text
    assert np.allclose(infer.json()["outputs"][0]["data"], scores)


def _b64(values: np.ndarray) -> str:
    import base64

    return base64.b64encode(values.tobytes()).decode()


def test_the_cli_scores_the_toy_service(suite: SimpleNamespace, tmp_path: Path) -> None:
    path = tmp_path / "values.txt"
    path.write_text("0.0\n0.5\n12.0\n")
    command = [sys.executable, "-m", "polyad.cli", "score", "toy", str(path), "--gateway", suite.gateway]
    result = subprocess.run(command, cwd=ROOT, env=suite.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "flagged 1" in result.stdout


def test_a_killed_service_is_restarted(suite: SimpleNamespace) -> None:
    found = subprocess.run(["pgrep", "-f", "-g", str(suite.process.pid), "services.core.app toy"],
                           capture_output=True, text=True)
    pids = [int(pid) for pid in found.stdout.split()]
    assert pids, "the toy service process was not found in the suite's process group"
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        restarted = any("toy died (-9); restarting" in line for line in suite.lines)
        if restarted and httpx.get(f"{suite.http}/readyz", params={"all": "true"}, timeout=10).status_code == 200:
            return
        time.sleep(1.0)
    pytest.fail("the killed toy service did not come back:\n" + "".join(suite.lines[-40:]))


def test_ctrl_c_to_the_process_group_stops_everything_within_15_s(suite: SimpleNamespace) -> None:
    temp_dir = next(re.search(r"temp dir (\S+)\)", line).group(1) for line in suite.lines if "temp dir" in line)
    started = time.monotonic()
    os.killpg(suite.process.pid, signal.SIGINT)
    assert suite.process.wait(30) == 0
    assert time.monotonic() - started < 15.0
    with pytest.raises(ProcessLookupError):
        os.killpg(suite.process.pid, 0)  # no child of the suite is left
    left = subprocess.run(["pgrep", "-f", temp_dir], capture_output=True, text=True).stdout.split()
    assert not left, f"Ray processes left behind: {left}"
