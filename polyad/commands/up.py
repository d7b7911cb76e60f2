"""``polyad up``: the embedded default — every service and the gateway on localhost, supervised.

Each component runs in its own process, so a crash of one never takes the others down; a
crashed component is restarted (with back-off). With ``--backend ray`` (the default) this process
starts one local Ray head and every service serves its model from Ray Serve replicas on it. Default
models are trained once and cached in the store.
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

from polyad.service_table import SERVICES
from services.core.errors import PolyadError

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


def installed_services() -> list[str]:
    """Services whose default detector plugin is registered and importable (installed with its extra)."""
    from services.core import registry

    names = []
    for service, entry in SERVICES.items():
        try:
            registry.detector_class(service, entry.default_detector)
        except (ImportError, PolyadError):
            continue
        names.append(service)
    return names


def ensure_default_models(store_root: str | None, services: list[str]) -> None:
    """Train each service's default model the first time (progress bars), then reuse it."""
    import importlib

    from services.core.errors import ModelNotFoundError
    from services.core.store import ModelStore

    store = ModelStore(store_root)
    for service in services:
        detector = SERVICES[service].default_detector
        name = f"{service}/{detector}"
        try:
            stored = store.resolve(service, detector)
            console.print(f"[green]{name}[/] {stored.version} found in {store.root}")
        except ModelNotFoundError:
            console.print(f"training the default {name} model on the bundled data (first start only)")
            defaults = importlib.import_module(f"services.{service}.defaults")
            stored = defaults.train_default_model(store, progress=True)
            console.print(f"[green]{name}[/] {stored.version} stored in {store.root}")


def start_shared_ray() -> str:
    """Start one local Ray head in this (supervising) process; every service joins it. Returns its address."""
    import ray

    ray.init(include_dashboard=False, namespace="polyad", log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    console.print(f"[green]Ray[/] head at {address} (shared by every service's Serve deployments)")
    return address


def components(args: argparse.Namespace, ray_address: str | None = None) -> list[Component]:
    """One process per domain service, then the gateway that routes to them."""
    settings = {"kind": args.backend, "num_replicas": args.replicas}
    if ray_address is not None:
        settings["ray_address"] = ray_address
    backend = json.dumps(settings)
    parts, routes = [], {}
    for service in args.services:
        port = getattr(args, f"{service}_port")
        address = routes[service] = f"{args.host}:{port}"
        prefix = f"POLYAD_{service.upper()}_"
        env = {f"{prefix}ADDRESS": address, f"{prefix}BACKEND": backend, f"{prefix}METRICS_PORT": str(port + 1000)}
        if args.store:
            env[f"{prefix}STORE_ROOT"] = args.store
        parts.append(Component(service, f"services.{service}.app", env, address))
    gateway_env = {
        "POLYAD_GATEWAY_GRPC_ADDRESS": f"{args.host}:{args.grpc_port}",
        "POLYAD_GATEWAY_HTTP_ADDRESS": f"{args.host}:{args.http_port}",
        "POLYAD_GATEWAY_ROUTES": json.dumps(routes),
    }
    return [*parts, Component("gateway", "gateway.app", gateway_env, f"{args.host}:{args.grpc_port}")]


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
    if args.services is None:
        args.services = installed_services()
    ensure_default_models(args.store, args.services)
    ray_address = start_shared_ray() if args.backend == "ray" else None
    parts = components(args, ray_address)

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
        for part in parts[:-1]:
            port = int(part.address.rpartition(":")[2])
            table.add_row(f"{part.name} service (direct gRPC)", part.address)
            table.add_row(f"{part.name} service metrics", f"http://{args.host}:{port + 1000}/metrics")
        Console().print(table)
        print("ready", flush=True)
        supervise(parts)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for part in reversed(parts):
            part.stop()
        if ray_address is not None:
            import ray

            ray.shutdown()  # stops the head this process started
    return 0
