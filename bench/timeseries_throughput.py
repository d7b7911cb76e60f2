"""Batch scoring throughput and streaming latency of COMET on this machine.

Prints: points/s of ``score`` on a long univariate series (default model, torch threads = 2), and
per-point StreamDetect latency over real loopback gRPC to the time-series service (inline backend),
beside the detector's own ``stream_step`` time. Targets: ≥ 100,000 points/s; stream p50 ≤ 5 ms.

Run: ``python bench/timeseries_throughput.py [--points 1000000]``
"""

from __future__ import annotations

import argparse
import queue
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import grpc
import numpy as np
import torch
from _common import percentiles_ms, print_table, trained_store


def batch_throughput(store, points: int) -> float:  # type: ignore[no-untyped-def]
    from services.core.store import ModelStore
    from services.timeseries.detectors.comet import CometDetector

    detector = CometDetector.load(ModelStore(store).resolve("timeseries", "comet").path)
    rng = np.random.default_rng(0)
    series = (np.sin(np.arange(points) / 20.0) + 0.1 * rng.standard_normal(points)).astype(np.float32) * 10 + 60
    detector.score(series[:10_000])  # warm-up
    started = time.perf_counter()
    detector.score(series)
    return points / (time.perf_counter() - started)


def stream_latency(store, n: int, adapt: bool) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    from polyad.timeseries.v1 import timeseries_pb2 as pb
    from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
    from services.core.codecs import from_numpy
    from services.core.store import ModelStore
    from services.timeseries.detectors.comet import CometDetector
    from tests.support.loop import LoopThread
    from tests.support.services import start_timeseries

    values = (np.sin(np.arange(n + 200) / 20.0) * 10 + 60).astype(np.float32)
    detector = CometDetector.load(ModelStore(store).resolve("timeseries", "comet").path)
    state = detector.initial_stream_state()
    local = []
    for value in values[:n]:
        started = time.perf_counter()
        _, state = detector.stream_step(value.reshape(1, 1), state, adapt)
        local.append(time.perf_counter() - started)

    loop = LoopThread()
    service = start_timeseries(loop, store)
    latencies: list[float] = []
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        stub = pb_grpc.TimeSeriesServiceStub(channel)
        outbox: queue.Queue = queue.Queue()
        replies = stub.StreamDetect(iter(outbox.get, None), timeout=600)
        for value in values[:n]:
            started = time.perf_counter()
            outbox.put(pb.StreamDetectRequest(stream_id="s", points=from_numpy(value.reshape(1, 1)), adapt=adapt))
            next(replies)
            latencies.append(time.perf_counter() - started)
        outbox.put(None)
    loop.run(service.stop())
    loop.close()
    return local, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--stream-points", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    store = trained_store()
    rate = batch_throughput(store, args.points)
    print_table(
        "COMET batch scoring (univariate, default model, 2 torch threads)",
        ["points", "points/s", "target", "ratio to target"],
        [[f"{args.points:,}", f"{rate:,.0f}", "100,000", f"{rate / 100_000:.2f}x"]],
    )
    rows = []
    for adapt in (False, True):
        local, remote = stream_latency(store, args.stream_points, adapt)
        lp50, lp99 = percentiles_ms(local)
        rp50, rp99 = percentiles_ms(remote)
        rows.append([str(adapt), f"{lp50:.2f}", f"{lp99:.2f}", f"{rp50:.2f}", f"{rp99:.2f}", "5.00"])
    print_table(
        f"StreamDetect per-point latency, ms ({args.stream_points} points, one point per message)",
        ["adapt", "stream_step p50", "stream_step p99", "gRPC p50", "gRPC p99", "target p50"],
        rows,
    )


if __name__ == "__main__":
    main()
