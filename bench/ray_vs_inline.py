"""Ray Serve backend vs inline backend under 16 concurrent clients: throughput ratio.

All three serve the same stored COMET version with the same number of workers (inline threads or
Ray replicas, one torch thread each), so the ratios isolate dynamic batching; 16 client threads send
Detect requests of one series each for a fixed time. The batched Ray backend fuses concurrent
requests with ``@serve.batch`` (one forward pass); the others score one request at a time per worker.

Run: ``python bench/ray_vs_inline.py [--seconds 20] [--points 2048] [--replicas 2]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time

import _common  # noqa: F401
import grpc
import numpy as np
from _common import percentiles_ms, print_table, trained_store


def load(port: int, clients: int, seconds: float, points: int) -> tuple[float, list[float]]:
    """Requests/s and latencies from ``clients`` threads hammering Detect for ``seconds``."""
    from polyad.timeseries.v1 import timeseries_pb2 as pb
    from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
    from services.core.codecs import from_numpy

    values = (np.sin(np.arange(points) / 20.0) * 10 + 60).astype(np.float32)
    request = pb.DetectRequest(series=[pb.Series(values=from_numpy(values))])
    latencies: list[float] = []
    lock = threading.Lock()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.TimeSeriesServiceStub(channel)
        for _ in range(3):
            stub.Detect(request, timeout=60)
        stop = time.perf_counter() + seconds

        def client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                stub.Detect(request, timeout=60)
                with lock:
                    latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies


def main() -> None:
    import ray

    from tests.support.loop import LoopThread
    from tests.support.services import start_timeseries

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--points", type=int, default=2048)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    store = trained_store()
    temp = tempfile.mkdtemp(prefix="ray-")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, log_to_driver=False)
    loop = LoopThread()
    rows = []
    rates = {}
    workers = args.replicas  # like for like: as many inline worker threads as Ray replicas, 1 torch thread each
    ray_options = {"kind": "ray", "num_replicas": workers, "num_cpus": 2 / workers, "batch_wait_timeout_s": 0.005}
    for name, backend in (
        (f"inline ({workers} worker threads)", {"kind": "inline", "inline_threads": workers}),
        (f"ray ({workers} replicas, no batching)", {**ray_options, "max_batch_size": 1}),
        (f"ray ({workers} replicas, @serve.batch ≤ 16)", {**ray_options, "max_batch_size": 16}),
    ):
        service = start_timeseries(loop, store, backend=backend)
        rate, latencies = load(service.port, args.clients, args.seconds, args.points)
        loop.run(service.stop())
        p50, p99 = percentiles_ms(latencies)
        rates[name] = rate
        rows.append([name, f"{rate:.1f}", f"{rate * args.points:,.0f}", f"{p50:.1f}", f"{p99:.1f}"])
    loop.close()
    ray.shutdown()
    inline_rate, unbatched_rate, ray_rate = rates.values()
    print_table(
        f"{args.clients} concurrent clients, Detect of one {args.points}-point series, {args.seconds:.0f} s each",
        ["backend", "requests/s", "points/s", "p50 ms", "p99 ms"],
        rows,
    )
    print(f"\nray (batched) / inline, same {workers} workers: {ray_rate / inline_rate:.2f}x")
    print(f"ray batched / ray unbatched (batching alone): {ray_rate / unbatched_rate:.2f}x")


if __name__ == "__main__":
    main()
