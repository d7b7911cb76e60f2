"""Entry point of the vision service: ``python -m services.vision.app [--config FILE]``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from polyad.vision.v1 import vision_pb2, vision_pb2_grpc
from services.core.app import RunningService, serve_forever, start_service
from services.core.settings import load_settings
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="YAML settings file (env vars POLYAD_VISION_* override it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings(VisionSettings, args.config, ENV_PREFIX, section="vision")
    host = settings.address.rpartition(":")[0]
    asyncio.run(serve_forever(lambda: start(settings), settings.metrics_port, host))


if __name__ == "__main__":
    main()
