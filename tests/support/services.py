"""Start the real time-series service and gateway on free loopback ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.core.backends import BackendSettings
from services.timeseries.config import TimeSeriesSettings
from tests.support.loop import LoopThread


def start_timeseries(loop: LoopThread, store: Path, backend: dict[str, Any] | None = None, **limits: Any):
    """A running time-series service (``.port``, ``await .stop()``)."""
    from services.core.app import start

    settings = TimeSeriesSettings(
        address="127.0.0.1:0", store_root=str(store), backend=BackendSettings(**(backend or {})), **limits
    )
    return loop.run(start("timeseries", settings))


def start_gateway(loop: LoopThread, routes: dict[str, str]):
    """A running gateway (gRPC and REST on free ports) routing ``routes``."""
    from gateway.app import start_gateway as start
    from gateway.config import GatewaySettings

    settings = GatewaySettings(grpc_address="127.0.0.1:0", http_address="127.0.0.1:0", routes=routes)
    return loop.run(start(settings))
