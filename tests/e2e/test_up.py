"""``polyad up`` from an empty store: trains the default model, starts service and gateway, serves, stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.timeseries.v1 import timeseries_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from tests.support.output import ProcessOutput
from tests.support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


def test_up_trains_once_serves_and_stops(tmp_path: Path) -> None:
    grpc_port, http_port, ts_port = free_ports(3)
    command = [sys.executable, "-m", "polyad.cli", "up", "--backend", "inline", "--store", str(tmp_path),
               "--services", "timeseries", "--grpc-port", str(grpc_port), "--http-port", str(http_port),
               "--timeseries-port", str(ts_port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "120"})
    output = ProcessOutput(process)
    try:
        output.wait_for_marker(240)
        assert (tmp_path / "timeseries" / "comet" / "LATEST").is_file()
        values = (np.sin(np.arange(500) / 8.0) * 10 + 60).astype(np.float32)
        request = gateway_pb2.DetectRequest(timeseries=pb.DetectRequest(series=[pb.Series(values=from_numpy(values))]))
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            reply = gateway_pb2_grpc.GatewayServiceStub(channel).Detect(request, timeout=60)
        assert to_numpy(reply.timeseries.results[0].scores).shape == (500,)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert process.returncode == 0
