"""StreamDetect throughput over loopback gRPC and the peak RSS of one streaming replica (for ``bench/logs.py``)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["RSS_PROBE", "stream_throughput"]

RSS_PROBE = """
import resource, sys, numpy as np, torch
torch.set_num_threads(1)
from services.logs.detectors.contralog import ContraLogDetector
from services.logs.data import generated_hdfs
detector = ContraLogDetector.load(sys.argv[1])
lines = [l for s in generated_hdfs(1300, seed=7).sessions for l in s.split("\\n")][:20000]
state = detector.initial_stream_state()
for i in range(0, len(lines), 256):
    rows = np.array([[l.split(" blk_")[1].split()[0] if " blk_" in l else "", l] for l in lines[i:i + 256]], object)
    _, state = detector.stream_step(rows, state, False)
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]  # not inherited, unlike ru_maxrss
print(int(peak[0].split()[1]) / 1024 if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def stream_throughput(model_dir: Path, sessions: np.ndarray) -> float:
    """Lines/s of StreamDetect over loopback gRPC (service in this process, inline backend, 1 torch thread)."""
    import asyncio
    import shutil

    import grpc

    from polyad.logs.v1 import logs_pb2 as pb
    from polyad.logs.v1 import logs_pb2_grpc as pb_grpc
    from services.core.app import start
    from services.core.backends import BackendSettings
    from services.logs.config import LogsSettings
    from services.logs.data import HDFS_BLOCK_PATTERN

    lines = [line for s in sessions for line in s.split("\n")]
    rng = np.random.default_rng(0)
    lines = [lines[i] for i in np.argsort(np.arange(len(lines)) + rng.uniform(0, 200, len(lines)))]  # interleave
    store = Path(tempfile.mkdtemp(prefix="polyad-bench-logs-"))
    shutil.copytree(model_dir, store / "logs" / "contralog" / "v1")
    (store / "logs" / "contralog" / "LATEST").write_text("v1")

    async def run() -> float:
        settings = LogsSettings(address="127.0.0.1:0", store_root=str(store), backend=BackendSettings())
        service = await start("logs", settings)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = pb_grpc.LogsServiceStub(channel)

            async def requests():  # type: ignore[no-untyped-def]
                for i in range(0, len(lines), 256):
                    chunk = [pb.LogLine(text=x.encode()) for x in lines[i:i + 256]]
                    yield pb.StreamDetectRequest(lines=chunk, session_pattern=HDFS_BLOCK_PATTERN)

            started, scored = time.perf_counter(), 0
            async for reply in stub.StreamDetect(requests()):
                scored += len(reply.lines)
            elapsed = time.perf_counter() - started
        await service.stop()
        return scored / elapsed

    return asyncio.run(run())
