"""Entry point of the time-series service: ``python -m services.timeseries.app [--config FILE]``."""

from __future__ import annotations

from polyad.timeseries.v1 import timeseries_pb2, timeseries_pb2_grpc
from services.core.app import RunningService, run_main, start_service
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
    run_main(argv, __doc__, TimeSeriesSettings, ENV_PREFIX, SERVICE, start)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
