"""Entry point of the logs service: ``python -m services.logs.app [--config FILE]``."""

from __future__ import annotations

from polyad.logs.v1 import logs_pb2, logs_pb2_grpc
from services.core.app import RunningService, run_main, start_service
from services.logs.config import ENV_PREFIX, SERVICE, LogsSettings
from services.logs.servicer import LogsServicer

__all__ = ["GRPC_SERVICE_NAME", "main", "start"]

GRPC_SERVICE_NAME = logs_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name


async def start(settings: LogsSettings) -> RunningService:
    """Start the logs service with ``settings`` (use address ``127.0.0.1:0`` for a free port)."""
    return await start_service(
        SERVICE,
        GRPC_SERVICE_NAME,
        settings,
        settings.default_detector,
        lambda models: LogsServicer(models, settings),
        logs_pb2_grpc.add_LogsServiceServicer_to_server,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the service until interrupted."""
    run_main(argv, __doc__, LogsSettings, ENV_PREFIX, SERVICE, start)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
