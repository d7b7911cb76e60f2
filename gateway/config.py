"""Gateway settings: listen addresses, the route table, timeouts and limits.

Loaded from defaults, then a YAML/JSON file, then environment variables ``POLYAD_GATEWAY_*``::

    POLYAD_GATEWAY_GRPC_ADDRESS=0.0.0.0:50051
    POLYAD_GATEWAY_DEFAULT_TIMEOUT_S=10
    POLYAD_GATEWAY_ROUTES='{"timeseries": "timeseries:50061"}'   # the whole table, as JSON
    POLYAD_GATEWAY_ROUTES__TIMESERIES=timeseries:50061               # or one modality at a time
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.auth import AuthSettings
from gateway.discovery import DiscoverySettings
from services.core.settings import load_settings
from services.core.tls import ClientTLSSettings, ServerTLSSettings

__all__ = ["DEFAULT_ROUTES", "ENV_PREFIX", "GatewaySettings", "split_address"]

ENV_PREFIX = "POLYAD_GATEWAY_"
DEFAULT_ROUTES: dict[str, str] = {"timeseries": "127.0.0.1:50061"}


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) → (host, port); raises ValueError when malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {address!r} is not of the form host:port")
    return host.strip("[]"), int(port)


class GatewaySettings(BaseModel):
    """Everything the gateway process needs; immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grpc_address: str = Field("127.0.0.1:50051", description="host:port the gRPC GatewayService listens on.")
    http_address: str = Field("127.0.0.1:8080", description="host:port of the REST/JSON proxy and docs.")
    routes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROUTES),
        description="modality → host:port of the service that answers it.",
    )
    default_timeout_s: float = Field(
        30.0, gt=0, description="Upstream call timeout; a caller's shorter deadline wins."
    )
    health_timeout_s: float = Field(1.0, gt=0, description="Timeout of each upstream health check.")
    max_inflight_per_service: int = Field(
        256, ge=1, description="Unary calls in flight to one service; more are refused at once with "
        "RESOURCE_EXHAUSTED / 429, so a slow or hung service cannot tie up the gateway for the others.",
    )
    max_streams_per_service: int = Field(
        64, ge=1, description="StreamDetect calls open to one service at once; more are refused at once with "
        "RESOURCE_EXHAUSTED / 429 (each open stream holds per-stream state in the service).",
    )
    max_message_bytes: int = Field(64 * 1024 * 1024, gt=0, description="gRPC message size limit upstream.")
    max_upload_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="Largest accepted REST body or CSV file."
    )
    tls: ServerTLSSettings | None = Field(None, description="Serve gRPC and HTTPS with these certificates.")
    upstream_tls: ClientTLSSettings | None = Field(None, description="Call the services over TLS (mTLS optional).")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="API keys / bearer tokens.")
    discovery: DiscoverySettings = Field(
        default_factory=DiscoverySettings, description="Kubernetes service discovery (in a cluster)."
    )

    @field_validator("grpc_address", "http_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        split_address(value)
        return value

    @field_validator("routes")
    @classmethod
    def _check_routes(cls, value: dict[str, str]) -> dict[str, str]:
        for modality, address in value.items():
            try:
                split_address(address)
            except ValueError as error:
                raise ValueError(f"routes.{modality}: {error}") from None
        return value

    @classmethod
    def load(cls, path: str | Path | None = None, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Defaults, overridden by the file at ``path`` (YAML or JSON), overridden by ``env``."""
        return load_settings(cls, path, ENV_PREFIX, section="gateway", env=env)
