"""The routing table: which service answers each modality, and the shared upstream channels.

Routes come from the registered service specs (:mod:`services.core.spec`): a modality is a
service's name, and the gateway forwards the serialized request bytes to
``/<spec.grpc_service>/<Method>`` without importing the service. A ``polyad.gateway.v1.DetectRequest``
names its modality by its payload arm, or — for services without an arm of their own — by the
package of the ``google.protobuf.Any`` in ``other`` (``type.googleapis.com/polyad.<service>.v1.DetectRequest``).
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
from services.core.errors import InvalidInputError
from services.core.spec import ServiceSpec, service_specs

log = logging.getLogger(__name__)

__all__ = ["GENERIC_ARM", "PAYLOAD_ARMS", "RESULT_ARMS", "TYPE_PREFIX", "Route", "Router"]

GENERIC_ARM = "other"
TYPE_PREFIX = "type.googleapis.com/"
PAYLOAD_ARMS = tuple(
    f.name for f in gateway_pb2.DetectRequest.DESCRIPTOR.oneofs_by_name["payload"].fields if f.name != GENERIC_ARM
)
RESULT_ARMS = tuple(
    f.name for f in gateway_pb2.DetectResponse.DESCRIPTOR.oneofs_by_name["result"].fields if f.name != GENERIC_ARM
)


@dataclass(slots=True)
class Route:
    """One routed modality bound to an upstream address; calls are created on first use."""

    modality: str
    spec: ServiceSpec
    address: str
    _router: Router = field(repr=False)
    _calls: dict[str, Callable[..., Any]] = field(default_factory=dict, repr=False)

    def unary(self, method: str) -> Callable[..., Any]:
        """The upstream unary multi-callable of ``method``, taking and giving serialized bytes."""
        call = self._calls.get(method)
        if call is None:
            call = self._calls[method] = self._router.channel(self.address).unary_unary(self.spec.method_path(method))
        return call

    @property
    def call(self) -> Callable[..., Any]:
        """The upstream ``Detect`` (bytes in, bytes out)."""
        return self.unary("Detect")

    @property
    def stream_call(self) -> Callable[..., Any]:
        """The upstream bidirectional ``StreamDetect`` (bytes); input error when the service has none."""
        if not self.spec.stream:
            raise InvalidInputError(f"modality {self.modality!r} has no streaming API; use Detect")
        call = self._calls.get("StreamDetect")
        if call is None:
            channel = self._router.channel(self.address)
            call = self._calls["StreamDetect"] = channel.stream_stream(self.spec.method_path("StreamDetect"))
        return call

    @property
    def arm(self) -> str:
        """The gateway message arm that carries this modality (its own, or ``other``)."""
        return self.modality if self.modality in PAYLOAD_ARMS else GENERIC_ARM

    def type_url(self, message: str) -> str:
        """The ``Any`` type URL of one of the service's messages, e.g. ``DetectResponse``."""
        return f"{TYPE_PREFIX}{self.spec.proto_package}.{message}"


class Router:
    """Maps requests to routes and owns one lazily created ``grpc.aio`` channel per upstream address.

    Channels are created inside the running event loop on first use, so the router itself can be
    built anywhere.
    """

    def __init__(
        self,
        routes: Mapping[str, str],
        table: Mapping[str, ServiceSpec] | None = None,
        channel_options: list[tuple[str, Any]] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        table = service_specs() if table is None else table
        unknown = sorted(set(routes) - set(table))
        if unknown:
            raise ValueError(f"routes name unknown modalities {unknown}; known: {', '.join(sorted(table))}")
        self._table = dict(table)
        self._by_package = {spec.proto_package: name for name, spec in self._table.items()}
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

    def route(self, request: Any, message: str = "DetectRequest") -> Route:
        """The route of a gateway request's payload (arm or ``other`` Any); InvalidInputError when unrouted."""
        arm = request.WhichOneof("payload")
        if arm == GENERIC_ARM:
            return self.get(self.modality_of(request.other.type_url, message))
        if arm is None:
            self._raise_unrouted(arm)
        return self.get(arm)

    def modality_of(self, type_url: str, message: str) -> str:
        """The modality whose proto package declares the ``Any``'s type (which must be its ``message``)."""
        name = type_url.rpartition("/")[2]
        package, _, short = name.rpartition(".")
        if short != message or not package:
            raise InvalidInputError(
                f"payload.other: type {name or '(empty)'!r} is not a service's {message}; expected "
                f"'{TYPE_PREFIX}polyad.<service>.v1.{message}'", "other"
            )
        modality = self._by_package.get(package)
        if modality is None:
            raise InvalidInputError(f"payload.other: no known service declares package {package!r}; known "
                                    f"modalities: {self.known}", "other")
        return modality

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
            route._calls.clear()
        for channel in channels:
            await channel.close(grace)
