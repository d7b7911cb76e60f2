"""Entry point of the time-series service: ``python -m services.timeseries.app [--config FILE]``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from polyad.timeseries.v1 import timeseries_pb2, timeseries_pb2_grpc
from services.core.app import RunningService, serve_forever, start_service
from services.core.settings import load_settings
from services.timeseries.config import ENV_PREFIX, SERVICE, TimeSeriesSettings
from services.timeseries.servicer import TimeSeriesServicer

__all__ = ["GRPC_SERVICE_NAME", "main", "start"]

GRPC_SERVICE_NAME = timeseries_pb2.DESCRIPTOR.services_by_name["TimeSeriesService"].full_name


async def start(settings: TimeSeriesSettings) -> RunningService:
    """Start the time-series service with ``settings`` (use address ``127.0.0.1:0`` for a free port)."""
    return await start_service(
        SERVICE,
        GRPC_SERVICE_NAME,
        settings,
        settings.default_detector,
        lambda models: TimeSeriesServicer(models, settings),
        timeseries_pb2_grpc.add_TimeSeriesServiceServicer_to_server,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the service until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="YAML settings file (env vars POLYAD_TIMESERIES_* override it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings(TimeSeriesSettings, args.config, ENV_PREFIX, section="timeseries")
    host = settings.address.rpartition(":")[0]
    asyncio.run(serve_forever(lambda: start(settings), settings.metrics_port, host))


if __name__ == "__main__":
    main()
