"""Entry point of the graph service: ``python -m services.graph.app [--config FILE]``."""

from __future__ import annotations

from polyad.graph.v1 import graph_pb2, graph_pb2_grpc
from services.core.app import RunningService, run_main, start_service
from services.graph.config import ENV_PREFIX, SERVICE, GraphSettings
from services.graph.servicer import GraphServicer

__all__ = ["GRPC_SERVICE_NAME", "main", "start"]

GRPC_SERVICE_NAME = graph_pb2.DESCRIPTOR.services_by_name["GraphService"].full_name


async def start(settings: GraphSettings) -> RunningService:
    """Start the graph service with ``settings`` (use address ``127.0.0.1:0`` for a free port)."""
    return await start_service(
        SERVICE,
        GRPC_SERVICE_NAME,
        settings,
        settings.default_detector,
        lambda models: GraphServicer(models, settings),
        graph_pb2_grpc.add_GraphServiceServicer_to_server,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the service until interrupted."""
    run_main(argv, __doc__, GraphSettings, ENV_PREFIX, SERVICE, start)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
