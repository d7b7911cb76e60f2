"""TLS from certificate files: gRPC server and channel credentials, and uvicorn's HTTPS options.

In Kubernetes the files come from a mounted Secret (``kubernetes.io/tls`` keys ``tls.crt``,
``tls.key``, ``ca.crt``). Mutual TLS is on when ``client_ca_file`` is set on a server.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import grpc
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ClientTLSSettings", "ServerTLSSettings"]


def _read(path: str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the {what} {path}: {error.strerror}") from error


class ServerTLSSettings(BaseModel):
    """A server's certificate and key; with ``client_ca_file``, clients must present a certificate it signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: str = Field(description="PEM certificate chain of this server.")
    key_file: str = Field(description="PEM private key of ``cert_file``.")
    client_ca_file: str | None = Field(None, description="PEM CA bundle that signs client certificates (mTLS).")
    require_client_cert: bool = Field(True, description="With client_ca_file: reject clients without a certificate.")

    @model_validator(mode="after")
    def _files_exist(self) -> ServerTLSSettings:
        for name in ("cert_file", "key_file", "client_ca_file"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_file():
                raise ValueError(f"tls.{name}: {value} is not a file")
        return self

    def grpc_credentials(self) -> grpc.ServerCredentials:
        """Credentials for ``server.add_secure_port``."""
        pair = (_read(self.key_file, "TLS key"), _read(self.cert_file, "TLS certificate"))
        client_ca = _read(self.client_ca_file, "client CA bundle")
        return grpc.ssl_server_credentials(
            [pair],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None and self.require_client_cert,
        )

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments of ``uvicorn.Config`` that serve HTTPS (and verify clients under mTLS)."""
        options: dict[str, Any] = {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file}
        if self.client_ca_file is not None:
            options["ssl_ca_certs"] = self.client_ca_file
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        return options


class ClientTLSSettings(BaseModel):
    """How a client (the gateway, calling services) verifies servers and, for mTLS, identifies itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: str | None = Field(None, description="PEM CA bundle that signs the servers; None = system roots.")
    cert_file: str | None = Field(None, description="Client certificate for mutual TLS.")
    key_file: str | None = Field(None, description="Private key of ``cert_file``.")
    server_name: str | None = Field(None, description="Expected server name when it differs from the host.")

    @model_validator(mode="after")
    def _pair(self) -> ClientTLSSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("upstream_tls: cert_file and key_file go together")
        return self

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        """Credentials for ``aio.secure_channel``."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file, "CA bundle"),
            private_key=_read(self.key_file, "client key"),
            certificate_chain=_read(self.cert_file, "client certificate"),
        )

    def channel_options(self) -> list[tuple[str, Any]]:
        """Extra channel options (the TLS name override)."""
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []
