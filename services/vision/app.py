"""Entry point of the vision service: ``python -m services.vision.app [--config FILE]``."""

from __future__ import annotations

from polyad.vision.v1 import vision_pb2, vision_pb2_grpc
from services.core.app import RunningService, run_main, start_service
from services.vision.config import ENV_PREFIX, SERVICE, VisionSettings
from services.vision.servicer import VisionServicer

__all__ = ["GRPC_SERVICE_NAME", "main", "start"]

GRPC_SERVICE_NAME = vision_pb2.DESCRIPTOR.services_by_name["VisionService"].full_name


async def start(settings: VisionSettings) -> RunningService:
    """Start the vision service with ``settings`` (use address ``127.0.0.1:0`` for a free port)."""
    return await start_service(
        SERVICE,
        GRPC_SERVICE_NAME,
        settings,
        settings.default_detector,
        lambda models: VisionServicer(models, settings),
        vision_pb2_grpc.add_VisionServiceServicer_to_server,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the service until interrupted."""
    run_main(argv, __doc__, VisionSettings, ENV_PREFIX, SERVICE, start)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
