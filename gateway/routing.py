"""The routing table: which service answers each modality, and the shared upstream channels.

Adding a modality is one entry in :data:`MODALITIES` (plus its address in the settings):

    "vision": RouteSpec(name="vision", grpc_service="polyad.vision.v1.VisionService",
                        stub=vision_pb2_grpc.VisionServiceStub, method="Detect", response_arm="vision"),

The entry's key is the payload arm of ``polyad.gateway.v1.DetectRequest``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2_grpc

from polyad.gateway.v1 import gateway_pb2
from polyad.graph.v1 import graph_pb2_grpc
from polyad.logs.v1 import logs_pb2_grpc
from polyad.timeseries.v1 import timeseries_pb2_grpc
from polyad.vision.v1 import vision_pb2_grpc
from services.core.errors import InvalidInputError

log = logging.getLogger(__name__)

__all__ = ["MODALITIES", "PAYLOAD_ARMS", "RESULT_ARMS", "Route", "RouteSpec", "Router"]

PAYLOAD_ARMS = tuple(f.name for f in gateway_pb2.DetectRequest.DESCRIPTOR.oneofs_by_name["payload"].fields)
RESULT_ARMS = tuple(f.name for f in gateway_pb2.DetectResponse.DESCRIPTOR.oneofs_by_name["result"].fields)


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What the gateway knows about one modality, independent of where its service runs."""

    name: str  # the service's short name, reported in DetectResponse.service
    grpc_service: str  # full gRPC service name, also the grpc.health.v1 service checked for readiness
    stub: type  # generated stub class of the service
    method: str  # the unary method of ``stub`` that Detect forwards to
    response_arm: str  # the arm of gateway.v1.DetectResponse.result that carries the answer
    stream_method: str | None = None  # the bidirectional method StreamDetect forwards to, if any


MODALITIES: dict[str, RouteSpec] = {
    "timeseries": RouteSpec(
        name="timeseries",
        grpc_service="polyad.timeseries.v1.TimeSeriesService",
        stub=timeseries_pb2_grpc.TimeSeriesServiceStub,
        method="Detect",
        response_arm="timeseries",
        stream_method="StreamDetect",
    ),
    "vision": RouteSpec(
        name="vision",
        grpc_service="polyad.vision.v1.VisionService",
        stub=vision_pb2_grpc.VisionServiceStub,
        method="Detect",
        response_arm="vision",
    ),
    "logs": RouteSpec(
        name="logs",
        grpc_service="polyad.logs.v1.LogsService",
        stub=logs_pb2_grpc.LogsServiceStub,
        method="Detect",
        response_arm="logs",
        stream_method="StreamDetect",
    ),
    "graph": RouteSpec(
        name="graph",
        grpc_service="polyad.graph.v1.GraphService",
        stub=graph_pb2_grpc.GraphServiceStub,
        method="Detect",
        response_arm="graph",
    ),
}


@dataclass(slots=True)
class Route:
    """One routed modality bound to an upstream address; the call is created on first use."""

    modality: str
    spec: RouteSpec
    address: str
    _router: Router = field(repr=False)
    _call: Callable[..., Any] | None = field(default=None, repr=False)
    _stream_call: Callable[..., Any] | None = field(default=None, repr=False)

    @property
    def call(self) -> Callable[..., Any]:
        """The upstream unary multi-callable (``stub.<method>``) on the shared channel."""
        if self._call is None:
            self._call = getattr(self.spec.stub(self._router.channel(self.address)), self.spec.method)
        return self._call

    @property
    def stream_call(self) -> Callable[..., Any]:
        """The upstream bidirectional multi-callable (``stub.<stream_method>``); input error if none."""
        if self.spec.stream_method is None:
            raise InvalidInputError(f"modality {self.modality!r} has no streaming API; use Detect")
        if self._stream_call is None:
            self._stream_call = getattr(self.spec.stub(self._router.channel(self.address)), self.spec.stream_method)
        return self._stream_call


class Router:
    """Maps requests to routes and owns one lazily created ``grpc.aio`` channel per upstream address.

    Channels are created inside the running event loop on first use, so the router itself can be
    built anywhere.
    """

    def __init__(
        self,
        routes: Mapping[str, str],
        table: Mapping[str, RouteSpec] = MODALITIES,
        channel_options: list[tuple[str, Any]] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        unknown = sorted(set(routes) - set(table))
        if unknown:
            raise ValueError(f"routes name unknown modalities {unknown}; known: {', '.join(sorted(table))}")
        self._table = table
        self._routes = {m: Route(m, table[m], address, self) for m, address in routes.items()}
        self._options = list(channel_options or [])
        self._credentials = credentials
        self._channels: dict[str, aio.Channel] = {}
        self._health: dict[str, health_pb2_grpc.HealthStub] = {}
        self.known = ", ".join(sorted(self._routes)) or "(none configured)"

    @property
    def routes(self) -> list[Route]:
        """Every routed modality, in configuration order."""
        return list(self._routes.values())

    def replace_routes(self, routes: Mapping[str, str]) -> None:
        """Swap in a new table (service discovery); modalities this gateway cannot speak are skipped."""
        skipped = sorted(set(routes) - set(self._table))
        if skipped:
            log.warning("routing: ignoring services for unknown modalities %s", skipped)
        current = self._routes
        self._routes = {
            m: current[m] if m in current and current[m].address == address else Route(m, self._table[m], address, self)
            for m, address in routes.items() if m in self._table
        }
        self.known = ", ".join(sorted(self._routes)) or "(none configured)"

    def route(self, request: gateway_pb2.DetectRequest | gateway_pb2.StreamDetectRequest) -> Route:
        """The route for the request's payload arm; InvalidInputError when it has none we route."""
        arm = request.WhichOneof("payload")
        found = self._routes.get(arm) if arm is not None else None
        if found is None:
            self._raise_unrouted(arm)
        return found

    def get(self, modality: str) -> Route:
        """The route of a modality by name (for REST paths); InvalidInputError when unknown."""
        found = self._routes.get(modality)
        if found is None:
            self._raise_unrouted(modality)
        return found

    def _raise_unrouted(self, modality: str | None) -> None:
        if not modality:
            raise InvalidInputError(f"payload: no modality set; expected one of: {self.known}")
        raise InvalidInputError(
            f"modality {modality!r} is not routed by this gateway; known modalities: {self.known}"
        )

    def channel(self, address: str) -> aio.Channel:
        """The shared channel to ``address``, created on first use."""
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = (
                aio.insecure_channel(address, options=self._options)
                if self._credentials is None
                else aio.secure_channel(address, self._credentials, options=self._options)
            )
        return channel

    def health(self, address: str) -> health_pb2_grpc.HealthStub:
        """A grpc.health.v1 stub on the shared channel to ``address``."""
        stub = self._health.get(address)
        if stub is None:
            stub = self._health[address] = health_pb2_grpc.HealthStub(self.channel(address))
        return stub

    async def close(self, grace: float | None = None) -> None:
        """Close every channel; routes recreate them if used again."""
        channels, self._channels = list(self._channels.values()), {}
        self._health = {}
        for route in self._routes.values():
            route._call = None
            route._stream_call = None
        for channel in channels:
            await channel.close(grace)
