"""TLS, mutual TLS and API keys on the real gateway and time-series service over loopback.

Certificates are made for the test with ``cryptography`` (a CA, a server certificate for
127.0.0.1/localhost, a client certificate); the gateway calls the service over mTLS, and callers
reach the gateway over TLS (gRPC and HTTPS) with a bearer token or an ``x-api-key``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from gateway.app import start_gateway
from gateway.config import GatewaySettings
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.timeseries.v1 import timeseries_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.tls import ServerTLSSettings
from tests.support.loop import LoopThread
from tests.support.services import start_timeseries

KEY = "s3cret-key-for-tests"


def _write_cert(directory: Path, name: str, subject: str, issuer: tuple | None, server: bool) -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer else (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert.subject, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    ca = _write_cert(directory, "ca", "polyad-test-ca", None, server=False)
    _write_cert(directory, "server", "localhost", ca, server=True)
    _write_cert(directory, "client", "polyad-gateway", ca, server=False)
    return directory


@pytest.fixture(scope="module")
def secured(loop_thread: LoopThread, model_store: Path, pki: Path) -> Iterator[SimpleNamespace]:
    server_tls = ServerTLSSettings(cert_file=str(pki / "server.crt"), key_file=str(pki / "server.key"),
                                   client_ca_file=str(pki / "ca.crt"))
    service = start_timeseries(loop_thread, model_store, tls=server_tls)
    settings = GatewaySettings(
        grpc_address="127.0.0.1:0", http_address="127.0.0.1:0",
        routes={"timeseries": f"127.0.0.1:{service.port}"},
        tls=server_tls,
        upstream_tls={"ca_file": str(pki / "ca.crt"), "cert_file": str(pki / "client.crt"),
                      "key_file": str(pki / "client.key")},
        auth={"enabled": True, "api_keys": ["another-key", KEY]},
    )
    gateway = loop_thread.run(start_gateway(settings))
    yield SimpleNamespace(gateway=gateway, service=service, pki=pki)
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def _credentials(pki: Path, client_cert: bool = True) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=(pki / "ca.crt").read_bytes(),
        private_key=(pki / "client.key").read_bytes() if client_cert else None,
        certificate_chain=(pki / "client.crt").read_bytes() if client_cert else None,
    )


def _request(series: np.ndarray) -> gateway_pb2.DetectRequest:
    return gateway_pb2.DetectRequest(timeseries=timeseries_pb2.DetectRequest(
        series=[timeseries_pb2.Series(id="s", values=from_numpy(series[:512]))]))


def _rejected() -> float:
    return REGISTRY.get_sample_value("polyad_unauthenticated_total", {"component": "gateway"}) or 0.0


def test_grpc_over_mtls_needs_a_key(secured: SimpleNamespace, normal_series: np.ndarray) -> None:
    address = f"127.0.0.1:{secured.gateway.grpc_port}"
    with grpc.secure_channel(address, _credentials(secured.pki)) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        reply = stub.Detect(_request(normal_series), metadata=[("authorization", f"Bearer {KEY}")], timeout=30)
        assert reply.service == "timeseries" and to_numpy(reply.timeseries.results[0].scores).shape == (512,)
        assert stub.ListServices(gateway_pb2.ListServicesRequest(), metadata=[("x-api-key", KEY)],
                                 timeout=10).services[0].ready
        before = _rejected()
        for metadata in ([], [("authorization", "Bearer wrong")], [("x-api-key", KEY[:-1])]):
            with pytest.raises(grpc.RpcError) as caught:
                stub.Detect(_request(normal_series), metadata=metadata, timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert "API key" in caught.value.details()
        assert _rejected() == before + 3
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING  # probes need no key


def test_clients_without_a_certificate_are_refused(secured: SimpleNamespace) -> None:
    for port in (secured.gateway.grpc_port, secured.service.port):
        with grpc.secure_channel(f"127.0.0.1:{port}", _credentials(secured.pki, client_cert=False)) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    with grpc.insecure_channel(f"127.0.0.1:{secured.service.port}") as plain, pytest.raises(grpc.RpcError):
        health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)


def test_https_rest_with_keys(secured: SimpleNamespace) -> None:
    pki = secured.pki
    base = f"https://127.0.0.1:{secured.gateway.http_port}"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
    with httpx.Client(verify=context, timeout=30) as client:
        assert client.get(f"{base}/healthz").status_code == 200
        before = _rejected()
        denied = client.get(f"{base}/v1/services")
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Bearer")
        assert denied.json()["error"]["code"] == "UNAUTHENTICATED"
        assert client.get(f"{base}/v1/services", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert _rejected() == before + 2
        listed = client.get(f"{base}/v1/services", headers={"X-API-Key": KEY})
        assert listed.status_code == 200 and listed.json()["services"][0]["ready"]
        bearer = client.get(f"{base}/v1/services", headers={"Authorization": f"Bearer {KEY}"})
        assert bearer.status_code == 200
        metrics = client.get(f"{base}/metrics").text
        assert 'polyad_unauthenticated_total{component="gateway"}' in metrics
    with pytest.raises(httpx.ConnectError):  # the server's certificate is not from a public CA
        httpx.get(f"{base}/healthz", timeout=5)
    with pytest.raises((httpx.ReadError, httpx.ConnectError, httpx.RemoteProtocolError)):  # mTLS: no client cert
        httpx.get(f"{base}/healthz", verify=ssl.create_default_context(cafile=str(pki / "ca.crt")), timeout=5)


def test_auth_enabled_without_keys_is_a_settings_error() -> None:
    from gateway.auth import Authenticator, AuthSettings

    with pytest.raises(ValueError, match="no API key"):
        Authenticator(AuthSettings(enabled=True))
    keys = Authenticator(AuthSettings(enabled=True, api_keys=["a", "bb"]))
    assert keys.accepts("bb") and not keys.accepts("b") and not keys.accepts("") and not keys.accepts(None)
    assert Authenticator(AuthSettings()).accepts(None)  # auth off: everything passes
