"""Run the gateway: the gRPC server and the REST app (uvicorn) in one event loop.

    python -m gateway.app --config gateway.yaml

``start_gateway`` works with port 0 (tests) and reports the bound ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from grpc import aio
from grpc_health.v1 import health

from gateway.auth import Authenticator, AuthInterceptor, RestAuthMiddleware
from gateway.config import GatewaySettings, split_address
from gateway.dataplane import DataPlane
from gateway.discovery import KubernetesDiscovery
from gateway.grpc_service import SERVICE_NAME, GatewayServicer
from gateway.kserve_dataplane import KServeDataPlane
from gateway.kserve_grpc import KSERVE_SERVICE_NAME, KServeServicer
from gateway.rest import create_rest_app
from services.core.server import build_server, set_alive, set_serving

__all__ = ["RunningGateway", "main", "start_gateway"]

log = logging.getLogger("gateway.app")


class _EmbeddedUvicorn(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RunningGateway:
    """A started gateway: its bound ports and what :meth:`stop` shuts down."""

    settings: GatewaySettings
    dataplane: DataPlane
    grpc_port: int
    http_port: int
    grpc_server: aio.Server
    health: health.aio.HealthServicer
    http_server: uvicorn.Server
    http_task: asyncio.Task[None]
    discovery: KubernetesDiscovery | None = None

    async def stop(self, grace: float = 1.0) -> None:
        """Stop serving: health NOT_SERVING, then REST and gRPC, then the upstream channels."""
        await set_serving(self.health, [SERVICE_NAME], False)
        if self.discovery is not None:
            self.discovery.stop()
        self.http_server.should_exit = True
        try:
            await asyncio.wait_for(self.http_task, timeout=grace + 1.0)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("gateway: REST server did not stop within %.1f s", grace + 1.0)
        await self.grpc_server.stop(grace)
        await self.dataplane.close()


def _bind(address: str) -> socket.socket:
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when it is set, and
    # without it every response waits ~40 ms for a delayed ACK (headers and body are separate writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def _start_discovery(settings: GatewaySettings, dataplane: DataPlane) -> KubernetesDiscovery | None:
    """Kubernetes discovery when active; ``auto`` falls back to the static routes when it cannot start."""
    if not settings.discovery.active():
        return None
    try:
        discovery = KubernetesDiscovery(settings.discovery, dataplane.router.replace_routes, asyncio.get_running_loop())
    except Exception as error:
        if settings.discovery.mode == "kubernetes":
            raise
        log.warning("gateway: Kubernetes discovery unavailable (%s); using the static routes", error)
        return None
    discovery.start()
    return discovery


async def start_gateway(settings: GatewaySettings, log_level: str = "warning") -> RunningGateway:
    """Start gRPC and REST on the configured addresses (port 0 picks free ports)."""
    dataplane = DataPlane(settings)
    servicer = GatewayServicer(dataplane)
    authenticator = Authenticator(settings.auth)
    grpc_server, health_servicer, grpc_port = build_server(
        component="gateway",
        register=[servicer.register, KServeServicer(KServeDataPlane(dataplane)).register],
        service_names=[SERVICE_NAME, KSERVE_SERVICE_NAME],
        address=settings.grpc_address,
        interceptors=[AuthInterceptor(authenticator)] if authenticator.enabled else [],
        credentials=settings.tls.grpc_credentials() if settings.tls is not None else None,
    )
    if grpc_port == 0:
        raise OSError(f"cannot bind the gRPC address {settings.grpc_address}")
    sock = _bind(settings.http_address)
    app = create_rest_app(dataplane, settings)
    if authenticator.enabled:
        app.add_middleware(RestAuthMiddleware, authenticator=authenticator)
    config = uvicorn.Config(
        app,
        **(settings.tls.uvicorn_options() if settings.tls is not None else {}),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    http_server = _EmbeddedUvicorn(config)
    await grpc_server.start()
    await set_alive(health_servicer)
    http_task = asyncio.create_task(http_server.serve(sockets=[sock]), name="gateway-rest")
    while not http_server.started:
        if http_task.done():  # failed to start: surface its exception
            await grpc_server.stop(None)
            http_task.result()
            raise RuntimeError("the REST server exited during startup")
        await asyncio.sleep(0.01)
    discovery = _start_discovery(settings, dataplane)
    await set_serving(health_servicer, [SERVICE_NAME], True)
    return RunningGateway(
        settings,
        dataplane,
        grpc_port,
        sock.getsockname()[1],
        grpc_server,
        health_servicer,
        http_server,
        http_task,
        discovery,
    )


async def _serve(settings: GatewaySettings) -> None:
    running = await start_gateway(settings, log_level="info")
    grpc_host = settings.grpc_address.rpartition(":")[0]
    http_host = settings.http_address.rpartition(":")[0]
    log.info(
        "gateway: gRPC on %s:%d, REST on http://%s:%d (docs at /docs); routes %s",
        grpc_host,
        running.grpc_port,
        http_host,
        running.http_port,
        settings.routes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("gateway: stopping")
    await running.stop(grace=5.0)


def main(argv: list[str] | None = None) -> int:
    """``python -m gateway.app [--config FILE]``; env vars POLYAD_GATEWAY_* override the file."""
    parser = argparse.ArgumentParser(prog="python -m gateway.app", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="YAML or JSON settings file (see gateway.config.GatewaySettings)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = GatewaySettings.load(args.config)
    except (OSError, ValueError) as error:
        parser.error(f"invalid settings: {error}")
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
