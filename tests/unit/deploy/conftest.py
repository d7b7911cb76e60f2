"""Shared helpers of the deployment tests: render the Helm chart offline and index the objects."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="needs the deploy extra: helm-python-sdk (bundles libhelm_c)")

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "polyad"
EXAMPLES = CHART / "examples"
RELEASE = "demo"
NAMESPACE = "ml"
FULLNAME = f"{RELEASE}-polyad"


def _chart_service_names() -> tuple[str, ...]:
    """The chart's domain services: its `polyad.serviceNames` helper (test_chart checks them against the specs)."""
    helpers = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    found = re.search(r'define "polyad\.serviceNames" -}}\s*(.*?)\s*{{-? ?end', helpers, re.S)
    assert found, "templates/_helpers.tpl defines no polyad.serviceNames"
    return tuple(found.group(1).split())


DOMAIN_SERVICES = _chart_service_names()

# Every optional object switched on at once (values the examples do not cover).
ALL_FEATURES: dict[str, Any] = {
    "gateway": {
        "tls": {"enabled": True, "existingSecret": "gw-tls", "clientCAKey": "ca.crt"},
        "auth": {"enabled": True, "apiKeys": ["k1", "k2"]},
        "discovery": {"enabled": True},
        "ingress": {"enabled": True, "tls": True, "grpc": {"enabled": True}},
        "autoscaling": {"enabled": True, "targetMemory": 80},
        "pdb": {"enabled": True},
        "startupProbe": {"enabled": True},
        "extraRoutes": {"medical": "medical.other-ns.svc.cluster.local:50065"},
    },
    **{name: {"autoscaling": {"enabled": True}, "pdb": {"enabled": True}} for name in DOMAIN_SERVICES},
    "ray": {"enabled": True, "enableInTreeAutoscaling": True},
    "internalTLS": {"enabled": True, "existingSecret": "internal-tls", "mutual": True},
    "modelStore": {"persistence": {"enabled": True}},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}, "scrapeTimeout": "10s"}},
    "networkPolicy": {"allowExternal": False, "allowExternalEgress": False},
    "image": {"registry": "registry.example.com/", "pullSecrets": ["regcred"]},
    "commonLabels": {"team": "ml"},
    "commonAnnotations": {"owner": "platform"},
}


def example(name: str) -> dict[str, Any]:
    """Values of charts/polyad/examples/<name>.yaml."""
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")) or {}


def value_sets() -> dict[str, dict[str, Any]]:
    """The value sets every chart-wide check runs on."""
    sets = {"default": {}, "all-features": copy.deepcopy(ALL_FEATURES)}
    sets.update({path.stem: example(path.stem) for path in sorted(EXAMPLES.glob("*.yaml"))})
    return sets


@functools.cache
def _chart_values_text() -> str:
    return (CHART / "values.yaml").read_text(encoding="utf-8")


def chart_values() -> dict[str, Any]:
    """The chart's default values (values.yaml), a fresh copy."""
    return yaml.safe_load(_chart_values_text())


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` deep-merged onto ``base``: maps key by key, anything else (lists, scalars) replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: deep_merge(base.get(key), value) for key, value in over.items()}}
    return copy.deepcopy(over)


def service_values(name: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Effective values of one domain service, as the chart's `polyad.serviceValues` helper computes them: the
    chart's defaults overlaid by ``values`` (what Helm does), then ``serviceDefaults`` overlaid by ``<name>``."""
    merged = deep_merge(chart_values(), values or {})
    return deep_merge(merged["serviceDefaults"], merged.get(name) or {})


@dataclass(frozen=True)
class Rendered:
    """The objects one value set renders to."""

    values: dict[str, Any]
    objects: tuple[dict[str, Any], ...]
    notes: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}: {self.names(kind)}"
        return found[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        return found[0] if found else None

    def names(self, kind: str) -> list[str]:
        return sorted(obj["metadata"]["name"] for obj in self.of_kind(kind))

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(where, pod spec) of every Deployment and every Ray head/worker template."""
        for dep in self.of_kind("Deployment"):
            yield f"Deployment/{dep['metadata']['name']}", dep["spec"]["template"]["spec"]
        for ray in self.of_kind("RayService"):
            cluster = ray["spec"]["rayClusterConfig"]
            yield "RayService head", cluster["headGroupSpec"]["template"]["spec"]
            for group in cluster["workerGroupSpecs"]:
                yield f"RayService worker {group['groupName']}", group["template"]["spec"]

    def gateway_settings(self) -> dict[str, Any]:
        config_map = self.get("ConfigMap", f"{FULLNAME}-gateway")
        return json.loads(config_map["data"]["gateway.json"])

    def serve_config(self) -> dict[str, Any]:
        ray = self.get("RayService", f"{FULLNAME}-ray")
        return yaml.safe_load(ray["spec"]["serveConfigV2"])


@functools.lru_cache(maxsize=64)
def _render_cached(values_json: str) -> Rendered:
    values = json.loads(values_json)
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values=values, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append(doc)
    return Rendered(values, tuple(objects), notes)


def render(values: dict[str, Any] | None = None) -> Rendered:
    """Render the chart as release ``demo`` in namespace ``ml`` (cached per value set)."""
    return _render_cached(json.dumps(values or {}, sort_keys=True))


def container(pod_spec: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """The (named or only) container of a pod spec."""
    containers = pod_spec["containers"]
    if name is None:
        assert len(containers) == 1, [c["name"] for c in containers]
        return containers[0]
    return next(c for c in containers if c["name"] == name)


def env_of(ctr: dict[str, Any]) -> dict[str, Any]:
    """A container's env as {name: value or valueFrom}."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in ctr.get("env", [])}


@pytest.fixture(params=sorted(value_sets()), ids=str)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    """The chart rendered with each value set in turn."""
    return render(value_sets()[request.param])


@pytest.fixture(scope="session", autouse=True)
def _cached_kubernetes_schemas() -> Iterator[None]:
    """kubernetes-validate re-reads and re-parses its multi-MB definitions file on every call; read each once."""
    try:
        from kubernetes_validate import utils
    except ImportError:
        yield
        return
    original = utils.schema_contents
    utils.schema_contents = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        utils.schema_contents = original
