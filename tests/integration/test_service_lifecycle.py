"""A service started before any model exists reports NOT_SERVING, then SERVING once one is trained; a taken
metrics port ends it at once, with a message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import TINY_COMET
from tests.support.loop import LoopThread
from tests.support.ports import free_ports
from tests.support.services import start_timeseries

SERVICE = "polyad.timeseries.v1.TimeSeriesService"


def _status(stub: health_pb2_grpc.HealthStub) -> int:
    return stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5).status


def test_serving_starts_when_a_model_lands_in_the_store(
    loop_thread: LoopThread, tmp_path: Path, normal_series: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.core import app
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.timeseries.detectors.comet import CometDetector

    monkeypatch.setattr(app, "MODEL_POLL_S", 0.1)
    service = start_timeseries(loop_thread, tmp_path)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            assert _status(health) == health_pb2.HealthCheckResponse.NOT_SERVING
            train, calibration = chronological_split(normal_series[:800], 0.25)  # as `polyad train` would
            fit_and_store(ModelStore(tmp_path), "timeseries", CometDetector(TINY_COMET), train, calibration)
            deadline = time.monotonic() + 10
            while _status(health) != health_pb2.HealthCheckResponse.SERVING:
                assert time.monotonic() < deadline, "the service did not notice the new model"
                time.sleep(0.1)
    finally:
        loop_thread.run(service.stop())


def test_a_taken_metrics_port_ends_the_service_at_once_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        [grpc_port] = free_ports(1)  # drawn while the taken port is held: never the same one
        env = {**os.environ, "POLYAD_TIMESERIES_ADDRESS": f"127.0.0.1:{grpc_port}",
               "POLYAD_TIMESERIES_METRICS_PORT": str(taken_port),
               "POLYAD_TIMESERIES_STORE_ROOT": str(tmp_path)}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "services.core.app", "timeseries"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"cannot serve metrics on 127.0.0.1:{taken_port}" in done.stderr, done.stderr[-2000:]
    assert "METRICS_PORT" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 60
