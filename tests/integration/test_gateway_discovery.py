"""Kubernetes service discovery in the real gateway, against a local server that REPLAYS the Kubernetes API.

There is no cluster here, so this test stands up a small HTTP server that answers the two requests
the official ``kubernetes`` client makes, with the shapes the real API server sends (a
``ServiceList`` for ``GET /api/v1/namespaces/<ns>/services?labelSelector=…``, and a chunked stream
of JSON watch events for ``…&watch=true&resourceVersion=…``, including a 410 ``Expired`` ERROR
event). The gateway is pointed at it with a kubeconfig file, as it would be outside a cluster.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest

from gateway.app import start_gateway
from gateway.config import GatewaySettings
from gateway.discovery import DiscoverySettings
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.loop import LoopThread

NAMESPACE = "polyad"
LABEL = "polyad.io/modality"


def service(name: str, modality: str, port: int, version: str) -> dict[str, Any]:
    """A Service object as the API server returns it (trimmed of status/managedFields only)."""
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {
            "name": name, "namespace": NAMESPACE, "uid": f"uid-{name}", "resourceVersion": version,
            "creationTimestamp": "2026-11-29T10:00:00Z",
            "labels": {"app.kubernetes.io/name": "polyad", "app.kubernetes.io/component": name, LABEL: modality},
        },
        "spec": {
            "ports": [{"name": "grpc", "protocol": "TCP", "port": port, "targetPort": "grpc"},
                      {"name": "metrics", "protocol": "TCP", "port": port + 1000, "targetPort": "metrics"}],
            "selector": {"app.kubernetes.io/component": name},
            "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"], "type": "ClusterIP",
            "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    }


class ReplayedKubernetesAPI:
    """Serves ``list`` from :attr:`items` and streams watch events put on :attr:`events`."""

    def __init__(self) -> None:
        self.items = [service("polyad-timeseries", "timeseries", 50061, "100")]
        self.list_version = "100"
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.requests: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                api.requests.append(query)
                if url.path != f"/api/v1/namespaces/{NAMESPACE}/services" or query.get("labelSelector") != [LABEL]:
                    self.send_error(404)
                    return
                if query.get("watch") == ["true"]:
                    self._stream_events()
                    return
                body = json.dumps({"kind": "ServiceList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": api.list_version}, "items": api.items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream_events(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    event = api.events.get()
                    if event is None:
                        break
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                    if event["type"] == "ERROR":
                        break
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[ReplayedKubernetesAPI]:
    replay = ReplayedKubernetesAPI()
    replay.thread.start()
    yield replay
    for _ in range(4):
        replay.events.put(None)
    replay.server.shutdown()


def kubeconfig(path: Path, url: str) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "replay",
        "clusters": [{"name": "replay", "cluster": {"server": url}}],
        "users": [{"name": "replay", "user": {"token": "replay-token"}}],
        "contexts": [{"name": "replay", "context": {"cluster": "replay", "user": "replay", "namespace": NAMESPACE}}],
    }))
    return path


def routes(stub: gateway_pb2_grpc.GatewayServiceStub) -> dict[str, str]:
    listed = stub.ListServices(gateway_pb2.ListServicesRequest(), timeout=10)
    return {s.modality: s.address for s in listed.services}


def wait_for(stub: gateway_pb2_grpc.GatewayServiceStub, expected: dict[str, str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if routes(stub) == expected:
            return
        time.sleep(0.05)
    assert routes(stub) == expected


@pytest.fixture()
def gateway(loop_thread: LoopThread, api: ReplayedKubernetesAPI, tmp_path: Path) -> Iterator[SimpleNamespace]:
    settings = GatewaySettings(
        grpc_address="127.0.0.1:0", http_address="127.0.0.1:0", routes={"timeseries": "127.0.0.1:1"},
        discovery=DiscoverySettings(mode="kubernetes", namespace=NAMESPACE,
                                    kubeconfig=str(kubeconfig(tmp_path / "kubeconfig", api.url))),
    )
    running = loop_thread.run(start_gateway(settings))
    with grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel:
        yield SimpleNamespace(stub=gateway_pb2_grpc.GatewayServiceStub(channel), running=running)
    loop_thread.run(running.stop())


def test_routes_follow_labelled_services_by_watch(gateway: SimpleNamespace, api: ReplayedKubernetesAPI) -> None:
    stub = gateway.stub
    wait_for(stub, {"timeseries": "polyad-timeseries.polyad.svc:50061"})  # the list replaced the static table

    api.events.put({"type": "ADDED", "object": service("polyad-vision", "vision", 50062, "101")})
    wait_for(stub, {"timeseries": "polyad-timeseries.polyad.svc:50061", "vision": "polyad-vision.polyad.svc:50062"})

    api.events.put({"type": "MODIFIED", "object": service("polyad-timeseries", "timeseries", 50071, "102")})
    wait_for(stub, {"timeseries": "polyad-timeseries.polyad.svc:50071", "vision": "polyad-vision.polyad.svc:50062"})

    api.events.put({"type": "DELETED", "object": service("polyad-vision", "vision", 50062, "103")})
    wait_for(stub, {"timeseries": "polyad-timeseries.polyad.svc:50071"})
    watches = [q for q in api.requests if q.get("watch") == ["true"]]
    assert watches and watches[0]["resourceVersion"] == ["100"]  # watched from the listed version, no polling

    api.items = [service("polyad-vision", "vision", 50062, "200")]  # state changed while the watch expired
    api.list_version = "200"
    api.events.put({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                 "status": "Failure", "reason": "Expired", "code": 410,
                                                 "message": "too old resource version: 103 (150)"}})
    wait_for(stub, {"vision": "polyad-vision.polyad.svc:50062"})  # relisted after 410 Gone
    with pytest.raises(grpc.RpcError) as caught:
        stub.Detect(gateway_pb2.DetectRequest(timeseries={}), timeout=5)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "vision" in caught.value.details()


def test_outside_a_cluster_the_static_table_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert not DiscoverySettings().active()
    assert DiscoverySettings(mode="kubernetes").active()
    assert not DiscoverySettings(mode="static", kubeconfig="x").active()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert DiscoverySettings().active()
