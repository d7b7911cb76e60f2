"""``polyad.gateway.v1.GatewayService`` over grpc.aio: a thin adapter over the data plane.

Errors raised by the data plane become status codes in ``services.core.server``'s interceptor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from gateway.dataplane import DataPlane
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc

__all__ = ["SERVICE_NAME", "GatewayServicer"]

SERVICE_NAME = gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    """Request → data plane → response, with the caller's remaining deadline."""

    def __init__(self, dataplane: DataPlane) -> None:
        self._dataplane = dataplane

    async def Detect(
        self, request: gateway_pb2.DetectRequest, context: aio.ServicerContext
    ) -> gateway_pb2.DetectResponse:
        """Forward to the modality's service."""
        return await self._dataplane.detect(request, context.time_remaining())

    async def StreamDetect(
        self, requests: AsyncIterator[gateway_pb2.StreamDetectRequest], context: aio.ServicerContext
    ) -> AsyncIterator[gateway_pb2.StreamDetectResponse]:
        """Forward a stream to the modality's service."""
        async for response in self._dataplane.stream_detect(requests, context.time_remaining()):
            yield response

    async def ListServices(
        self, request: gateway_pb2.ListServicesRequest, context: aio.ServicerContext
    ) -> gateway_pb2.ListServicesResponse:
        """The routing table with each service's readiness."""
        return await self._dataplane.list_services()

    def register(self, server: aio.Server) -> None:
        """Add this servicer to ``server`` (for ``build_server``'s ``register``)."""
        gateway_pb2_grpc.add_GatewayServiceServicer_to_server(self, server)
