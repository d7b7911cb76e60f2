"""``polyad up``: the embedded default — every service and the gateway on localhost, supervised.

Each component runs in its own process, so a crash of one never takes the others down; a
crashed component is restarted (with back-off). The time-series service starts a local Ray and
serves COMET from Ray Serve replicas. Default models are trained once and cached in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from rich.table import Table

__all__ = ["Component", "run_up"]

console = Console(stderr=True)


@dataclass
class Component:
    """A supervised child process."""

    name: str
    module: str
    env: dict[str, str]
    address: str
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", self.module], env={**os.environ, **self.env})

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_serving(address: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Block until ``address`` reports grpc.health.v1 SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process behind {address} exited with code {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
    raise TimeoutError(f"{address} did not become SERVING within {timeout:.0f} s")


def ensure_default_models(store_root: str | None) -> None:
    """Train the default models the first time (progress bars), then reuse them."""
    from services.core.errors import ModelNotFoundError
    from services.core.store import ModelStore
    from services.timeseries.defaults import train_default_model

    store = ModelStore(store_root)
    try:
        stored = store.resolve("timeseries", "comet")
        console.print(f"[green]timeseries/comet[/] {stored.version} found in {store.root}")
    except ModelNotFoundError:
        console.print("training the default timeseries/comet model on the bundled data (first start only)")
        stored = train_default_model(store, progress=True)
        console.print(f"[green]timeseries/comet[/] {stored.version} stored in {store.root}")


def components(args: argparse.Namespace) -> list[Component]:
    """The time-series service, then the gateway that routes to it."""
    ts_address = f"{args.host}:{args.timeseries_port}"
    backend = {"kind": args.backend, "num_replicas": args.replicas}
    service_env = {
        "POLYAD_TIMESERIES_ADDRESS": ts_address,
        "POLYAD_TIMESERIES_BACKEND": json.dumps(backend),
        "POLYAD_TIMESERIES_METRICS_PORT": str(args.timeseries_port + 1000),
    }
    if args.store:
        service_env["POLYAD_TIMESERIES_STORE_ROOT"] = args.store
    gateway_env = {
        "POLYAD_GATEWAY_GRPC_ADDRESS": f"{args.host}:{args.grpc_port}",
        "POLYAD_GATEWAY_HTTP_ADDRESS": f"{args.host}:{args.http_port}",
        "POLYAD_GATEWAY_ROUTES": json.dumps({"timeseries": ts_address}),
    }
    return [
        Component("timeseries", "services.timeseries.app", service_env, ts_address),
        Component("gateway", "gateway.app", gateway_env, f"{args.host}:{args.grpc_port}"),
    ]


def supervise(parts: list[Component]) -> None:
    """Restart crashed components (at most 5 times a minute each) until interrupted."""
    while True:
        time.sleep(1.0)
        for part in parts:
            if part.process is None or part.process.poll() is None:
                continue
            now = time.monotonic()
            part.restarts = [t for t in part.restarts if now - t < 60] + [now]
            if len(part.restarts) > 5:
                console.print(f"[red]{part.name} keeps crashing; leaving it down[/]")
                part.process = None
                continue
            console.print(f"[yellow]{part.name} exited ({part.process.returncode}); restarting[/]")
            part.start()


def run_up(args: argparse.Namespace) -> int:
    """Start everything, print the addresses, supervise until Ctrl-C."""
    ensure_default_models(args.store)
    parts = components(args)

    def shutdown(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    try:
        for part in parts:
            part.start()
            wait_serving(part.address, timeout=180, process=part.process)
            console.print(f"[green]{part.name}[/] serving on {part.address}")
        table = Table(title="Polyad is up")
        table.add_column("endpoint")
        table.add_column("address")
        table.add_row("gateway gRPC (polyad.gateway.v1.GatewayService)", f"{args.host}:{args.grpc_port}")
        table.add_row("gateway REST + OpenAPI docs", f"http://{args.host}:{args.http_port}/docs")
        table.add_row("metrics", f"http://{args.host}:{args.http_port}/metrics")
        table.add_row("timeseries service (direct gRPC)", parts[0].address)
        table.add_row("timeseries service metrics", f"http://{args.host}:{args.timeseries_port + 1000}/metrics")
        Console().print(table)
        print("ready", flush=True)
        supervise(parts)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for part in reversed(parts):
            part.stop()
    return 0
