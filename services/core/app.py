"""Running any domain service from its spec: model manager + servicer + gRPC server with health.

    python -m services.core.app <service> [--config FILE]      (or: polyad serve <service>)

The one entry point of every service (containers, ``polyad up``, tests): the service's
:class:`~services.core.spec.ServiceSpec` names its settings, servicer and generated gRPC code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from grpc import aio
from grpc_health.v1 import health

from services.core.errors import PolyadError
from services.core.models import ModelManager
from services.core.server import build_server, set_alive, set_serving
from services.core.settings import ServiceSettings
from services.core.spec import ServiceSpec, load_object, service_spec
from services.core.store import ModelStore

__all__ = ["RunningService", "main", "serve_forever", "start"]

log = logging.getLogger(__name__)

MODEL_POLL_S = float(os.environ.get("POLYAD_MODEL_POLL_S", "10"))
"""Seconds between store checks of a service that started without a model."""


@dataclass
class RunningService:
    """A started service; ``port`` is the bound gRPC port."""

    name: str
    server: aio.Server
    health: health.aio.HealthServicer
    models: ModelManager
    port: int
    grpc_service_name: str
    waiting: asyncio.Task[None] | None = None  # polls the store while no model is loaded

    async def stop(self, grace: float = 1.0) -> None:
        """Stop serving, then release backends."""
        if self.waiting is not None:
            self.waiting.cancel()
        await set_serving(self.health, [self.grpc_service_name], False)
        await self.server.stop(grace)
        await self.models.close()


async def start(spec: ServiceSpec | str, settings: ServiceSettings | None = None, **fields: Any) -> RunningService:
    """Start the service ``spec`` with ``settings`` (default: from env); ``fields`` override settings fields.

    Use ``address="127.0.0.1:0"`` for a free port (``RunningService.port`` says which). The server reports
    SERVING once the default model is loaded (or after a Fit).
    """
    spec = service_spec(spec) if isinstance(spec, str) else spec
    if settings is None:
        settings = spec.load_settings()
    settings = spec.complete(settings.model_copy(update=fields) if fields else settings)
    name, grpc_service_name = spec.name, spec.grpc_service
    models = ModelManager(name, ModelStore(settings.store_root), settings.backend, settings.default_detector)
    servicer = load_object(spec.servicer)(models, settings)
    credentials = settings.tls.grpc_credentials() if settings.tls is not None else None
    server, health_servicer, port = build_server(
        name, [lambda target: spec.add_servicer(servicer, target)], [grpc_service_name], settings.address,
        credentials=credentials,
    )
    await set_serving(health_servicer, [grpc_service_name], False)  # until a model is loaded
    await server.start()
    await set_alive(health_servicer)
    running = RunningService(name, server, health_servicer, models, port, grpc_service_name)
    try:
        await models.get(None)
        await set_serving(health_servicer, [grpc_service_name], True)
    except PolyadError as error:
        log.warning("%s starts NOT_SERVING: %s (checking the store every %.0f s)", name, error, MODEL_POLL_S)
        running.waiting = asyncio.create_task(_serve_when_a_model_appears(running), name=f"{name}-model-wait")
    return running


async def _serve_when_a_model_appears(running: RunningService) -> None:
    """Poll the store until the default model exists (trained by ``polyad train`` or a Job), then SERVE."""
    while True:
        await asyncio.sleep(MODEL_POLL_S)
        try:
            await running.models.get(None)
        except PolyadError:
            continue
        await set_serving(running.health, [running.grpc_service_name], True)
        log.info("%s: a model appeared in the store; SERVING", running.name)
        return


async def serve_forever(
    start: Callable[[], Awaitable[RunningService]], metrics_port: int | None = None, metrics_host: str = ""
) -> None:
    """Run until SIGINT/SIGTERM (exposing Prometheus metrics when ``metrics_port`` is set), then stop.

    The metrics port is bound first: a taken port ends the process at once with a message naming it,
    before any model replica is deployed.
    """
    if metrics_port is not None:
        from prometheus_client import start_http_server

        try:
            start_http_server(metrics_port, addr=metrics_host)
        except OSError as error:
            raise SystemExit(f"cannot serve metrics on {metrics_host or '*'}:{metrics_port} ({error.strerror}); "
                             "set the service's METRICS_PORT setting to a free port") from error
    running = await start()
    log.info("%s listening on port %d", running.name, running.port)
    if metrics_port is not None:
        log.info("%s metrics on http://%s:%d/metrics", running.name, metrics_host, metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.core.app <service> [--config FILE]``: load settings, serve until interrupted."""
    import argparse

    from services.core.spec import service_specs

    parser = argparse.ArgumentParser(prog="python -m services.core.app", description="Run one Polyad service.")
    parser.add_argument("service", nargs="?", choices=sorted(service_specs()), default=os.environ.get("POLYAD_SERVICE"),
                        help="the service to run (default: $POLYAD_SERVICE, as set in its container image)")
    parser.add_argument("--config", help="YAML settings file (env vars POLYAD_<SERVICE>_* override it)")
    args = parser.parse_args(argv)
    if args.service is None:
        parser.error("name the service to run (or set POLYAD_SERVICE)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    spec = service_spec(args.service)
    try:
        settings = spec.load_settings(args.config)
    except (OSError, ValueError) as error:
        parser.error(f"invalid settings: {error}")
    host = settings.address.rpartition(":")[0]
    asyncio.run(serve_forever(lambda: start(spec, settings), settings.metrics_port, host))


if __name__ == "__main__":
    main()
