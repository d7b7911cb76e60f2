"""Gateway hop cost: p50/p99 of a small Detect via gateway → service, directly to the service, and a bare echo.

All three run in this process on loopback with the same serialized payload (a 64-point series);
the bare echo is a gRPC server that returns the request bytes, the floor of any gRPC call here.
Target: the gateway hop adds ≤ 1 ms p50 over the direct call.

Run: ``python bench/gateway_overhead.py [--calls 2000]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import _common  # noqa: F401
import grpc
import numpy as np
from _common import percentiles_ms, print_table, trained_store
from grpc import aio

ECHO_METHOD = "/polyad.bench.v1.EchoService/Echo"


async def start_echo() -> tuple[aio.Server, int]:
    """A gRPC server answering every call with the request's own bytes."""
    async def echo(request: bytes, context: aio.ServicerContext) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "polyad.bench.v1.EchoService", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def timed(call: Callable[[], object], n: int) -> list[float]:
    for _ in range(50):
        call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from polyad.timeseries.v1 import timeseries_pb2 as pb
    from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
    from services.core.codecs import from_numpy
    from tests.support.loop import LoopThread
    from tests.support.services import start_gateway, start_timeseries

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    store = trained_store()
    loop = LoopThread()
    service = start_timeseries(loop, store)
    gateway = start_gateway(loop, {"timeseries": f"127.0.0.1:{service.port}"})
    echo, echo_port = loop.run(start_echo())

    values = (np.sin(np.arange(128) / 5.0) * 10 + 60).astype(np.float32)  # one window of the default model
    detect = pb.DetectRequest(series=[pb.Series(id="x", values=from_numpy(values))])
    wrapped = gateway_pb2.DetectRequest(timeseries=detect)
    payload = wrapped.SerializeToString()

    with grpc.insecure_channel(f"127.0.0.1:{echo_port}") as e_chan, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as s_chan, \
            grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as g_chan:
        echo_call = e_chan.unary_unary(ECHO_METHOD)
        direct = pb_grpc.TimeSeriesServiceStub(s_chan).Detect
        via_gateway = gateway_pb2_grpc.GatewayServiceStub(g_chan).Detect
        results = {
            "bare gRPC echo": timed(lambda: echo_call(payload, timeout=10), args.calls),
            "client → service": timed(lambda: direct(detect, timeout=10), args.calls),
            "client → gateway → service": timed(lambda: via_gateway(wrapped, timeout=10), args.calls),
        }
    loop.run(gateway.stop())
    loop.run(service.stop())
    loop.run(echo.stop(None))
    loop.close()
    rows = [[name, f"{p50:.3f}", f"{p99:.3f}"] for name, (p50, p99) in
            ((name, percentiles_ms(s)) for name, s in results.items())]
    hop = percentiles_ms(results["client → gateway → service"])[0] - percentiles_ms(results["client → service"])[0]
    print_table(f"Detect of a 64-point series, {args.calls} sequential calls, ms", ["path", "p50", "p99"], rows)
    print(f"\ngateway hop adds {hop:.3f} ms at p50 (target ≤ 1.000 ms)")


if __name__ == "__main__":
    main()
