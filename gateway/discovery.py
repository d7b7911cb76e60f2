"""Kubernetes service discovery: the routing table follows Services labelled with their modality.

A domain service's Kubernetes Service carries ``polyad.io/modality: <modality>`` and a port named
``grpc`` (the Helm chart sets both). In a cluster the gateway lists those Services once, then
*watches* them (no polling): ADDED/MODIFIED set the modality's route to
``<name>.<namespace>.svc:<port>``, DELETED removes it, and an expired watch (HTTP 410) relists.
Outside a cluster (or with ``mode: static``) the static ``routes`` of the settings stay in force.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DiscoverySettings", "KubernetesDiscovery", "route_of"]

log = logging.getLogger(__name__)

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class DiscoverySettings(BaseModel):
    """Where routes come from: the static table, or Kubernetes Services (``auto``: when in a cluster)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto", "static", "kubernetes"] = Field("auto", description="auto = kubernetes inside a pod.")
    namespace: str | None = Field(None, description="Namespace to watch; None = the pod's own namespace.")
    label: str = Field("polyad.io/modality", description="Label whose value names a Service's modality.")
    port_name: str = Field("grpc", description="Name of the Service port the gateway forwards to.")
    kubeconfig: str | None = Field(None, description="Use this kubeconfig instead of the in-cluster account.")
    watch_timeout_s: int = Field(300, ge=1, description="Server-side timeout of one watch request (then rewatch).")

    def active(self) -> bool:
        """True when discovery should run: forced on, or ``auto`` inside a pod (or with a kubeconfig)."""
        if self.mode == "static":
            return False
        return self.mode == "kubernetes" or bool(os.environ.get("KUBERNETES_SERVICE_HOST")) or bool(self.kubeconfig)


def route_of(service: dict[str, Any], label: str, port_name: str) -> tuple[str, str] | None:
    """(modality, host:port) of a Service object as JSON, or None when it is not one of ours."""
    metadata = service.get("metadata") or {}
    modality = (metadata.get("labels") or {}).get(label)
    ports = (service.get("spec") or {}).get("ports") or []
    port = next((p.get("port") for p in ports if p.get("name") == port_name), None)
    if not modality or port is None:
        return None
    return modality, f"{metadata['name']}.{metadata['namespace']}.svc:{port}"


class KubernetesDiscovery:
    """Lists and watches labelled Services on a background thread; applies changes on the event loop."""

    def __init__(
        self,
        settings: DiscoverySettings,
        apply: Callable[[dict[str, str]], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.settings = settings
        self._apply = apply  # called on the loop with the full new table {modality: address}
        self._loop = loop
        self._stop = threading.Event()
        self._routes: dict[str, str] = {}
        self._api = self._client()
        self._namespace = settings.namespace or self._own_namespace()
        self.synced = threading.Event()
        self._thread = threading.Thread(target=self._run, name="k8s-discovery", daemon=True)

    def _client(self) -> Any:
        try:
            from kubernetes import client, config
        except ImportError as error:
            raise RuntimeError("discovery needs the 'kubernetes' package: pip install polyad[deploy]") from error
        if self.settings.kubeconfig:
            api_client = config.new_client_from_config(config_file=self.settings.kubeconfig)
        else:
            config.load_incluster_config()
            api_client = client.ApiClient()
        return client.CoreV1Api(api_client)

    def _own_namespace(self) -> str:
        try:
            return NAMESPACE_FILE.read_text(encoding="utf-8").strip()
        except OSError:
            return "default"

    def start(self) -> None:
        """Begin list + watch in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current watch request ends (the thread is a daemon)."""
        self._stop.set()

    def _publish(self) -> None:
        table = dict(self._routes)
        self._loop.call_soon_threadsafe(self._apply, table)

    def _relist(self) -> str:
        listed = self._api.list_namespaced_service(
            self._namespace, label_selector=self.settings.label, _preload_content=False
        )
        body = json.loads(listed.data)
        self._routes = {}
        for item in body.get("items", []):
            found = route_of(item, self.settings.label, self.settings.port_name)
            if found is not None:
                self._routes[found[0]] = found[1]
        self._publish()
        self.synced.set()
        log.info("discovery: %d routed services in namespace %s: %s", len(self._routes), self._namespace, self._routes)
        return str(body.get("metadata", {}).get("resourceVersion", ""))

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version = ""
        while not self._stop.is_set():
            try:
                version = version or self._relist()
                stream = watch.Watch().stream(
                    self._api.list_namespaced_service, self._namespace, label_selector=self.settings.label,
                    resource_version=version, timeout_seconds=self.settings.watch_timeout_s,
                )
                for event in stream:
                    version = self._on_event(event) or version
                    if self._stop.is_set():
                        return
            except ApiException as error:
                if error.status == 410:  # the watch expired: relist from scratch
                    version = ""
                    continue
                log.warning("discovery: Kubernetes API error %s; retrying in 2 s", error.status)
                self._stop.wait(2.0)
            except Exception as error:  # keep the last good table; the gateway keeps serving
                log.warning("discovery: %s; retrying in 2 s", error)
                version = ""
                self._stop.wait(2.0)

    def _on_event(self, event: dict[str, Any]) -> str:
        """Apply one watch event (a Service may also change modality or port); returns its resourceVersion."""
        kind, raw = event.get("type"), event.get("raw_object") or {}
        metadata = raw.get("metadata") or {}
        if kind in {"ADDED", "MODIFIED", "DELETED"}:
            prefix = f"{metadata.get('name')}.{metadata.get('namespace')}.svc:"
            self._routes = {m: a for m, a in self._routes.items() if not a.startswith(prefix)}
            found = route_of(raw, self.settings.label, self.settings.port_name)
            if kind != "DELETED" and found is not None:
                self._routes[found[0]] = found[1]
            self._publish()
        return str(metadata.get("resourceVersion", ""))
