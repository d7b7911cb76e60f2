"""The Helm chart charts/polyad: lint, schema, rendered objects validated and checked against the code."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.auth import Authenticator
from gateway.config import GatewaySettings
from services.core.backends import BackendSettings
from services.core.server import LIVENESS_SERVICE
from services.core.settings import ServiceSettings, load_settings
from services.core.spec import service_specs
from tests.unit.deploy.conftest import (
    ALL_FEATURES,
    CHART,
    DOMAIN_SERVICES,
    FULLNAME,
    NAMESPACE,
    RELEASE,
    Rendered,
    chart_values,
    container,
    env_of,
    example,
    helm,
    render,
    service_values,
    value_sets,
)
from tests.unit.deploy.crd_schemas import CRD_SCHEMAS

SERVICES = service_specs()

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="needs the deploy extra")
jsonschema = pytest.importorskip("jsonschema")  # a dependency of kubernetes-validate

# gRPC probes are GA from Kubernetes 1.27 (the chart's kubeVersion floor); check the floor's API and the newest.
KUBE_VERSIONS = ("1.27.0", "1.37.0")
GATEWAY = f"{FULLNAME}-gateway"
RAY = f"{FULLNAME}-ray"


def _settings_class(service: str) -> tuple[type[ServiceSettings], str]:
    """The service's settings class and env prefix (ServiceSettings while its config module is being written)."""
    prefix = f"POLYAD_{service.upper()}_"
    try:
        module = importlib.import_module(f"services.{service}.config")
    except ModuleNotFoundError:
        return ServiceSettings, prefix
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, ServiceSettings) and obj is not ServiceSettings
    ]
    assert len(classes) == 1, f"services.{service}.config should define one settings class, found {classes}"
    return classes[0], getattr(module, "ENV_PREFIX", prefix)


# The value an existing Secret (one the chart only references) stands in with: a JSON list of keys.
STAND_IN_API_KEYS = '["stand-in-key"]'


def _process_env(rendered: Rendered, ctr: dict[str, Any]) -> dict[str, str]:
    """A container's env as its process sees it: Secret references resolved (from the rendered Secret, or a
    stand-in for an existing one) and $(VAR) references expanded the way the kubelet does."""
    env: dict[str, str] = {}
    for item in ctr.get("env", []):
        if "value" in item:
            value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            secret = rendered.find("Secret", ref["name"])
            value = base64.b64decode(secret["data"][ref["key"]]).decode() if secret else STAND_IN_API_KEYS
        env[item["name"]] = value
    return env


@contextmanager
def _secret_mounts(spec: dict[str, Any], ctr: dict[str, Any]) -> Iterator[Callable[[str], str]]:
    """Temporary folders standing in for the container's Secret volumes. Yields a function that maps the
    container's paths in a text onto them and creates the files the text names (settings check they exist)."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    with tempfile.TemporaryDirectory() as tmp:
        mapping = {}
        for mount in ctr.get("volumeMounts", []):
            if "secret" in volumes[mount["name"]]:
                assert mount.get("readOnly") is True, f"Secret volume {mount['name']} is mounted writable"
                mapping[mount["mountPath"].rstrip("/") + "/"] = f"{tmp}/{mount['name']}/"

        def remap(text: str) -> str:
            for inside, local in mapping.items():
                text = text.replace(inside, local)
            for path in re.findall(re.escape(tmp) + r"/[\w.-]+/[\w.-]+", text):
                Path(path).parent.mkdir(exist_ok=True)
                Path(path).touch()
            return text

        yield remap


def _service_settings(rendered: Rendered, service: str) -> ServiceSettings:
    """What the service process loads from its Deployment (the real loader and settings model)."""
    spec = rendered.get("Deployment", f"{FULLNAME}-{service}")["spec"]["template"]["spec"]
    ctr = container(spec)
    cls, prefix = _settings_class(service)
    with _secret_mounts(spec, ctr) as remap:
        env = {name: remap(value) for name, value in _process_env(rendered, ctr).items()}
        return load_settings(cls, None, prefix, section=service, env=env)


def _gateway_settings(rendered: Rendered) -> GatewaySettings:
    """What the gateway process loads: its command's --config file from the ConfigMap, then its env."""
    spec = rendered.get("Deployment", GATEWAY)["spec"]["template"]["spec"]
    ctr = container(spec)
    with _secret_mounts(spec, ctr) as remap, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gateway.json"
        config.write_text(remap(rendered.get("ConfigMap", GATEWAY)["data"]["gateway.json"]), encoding="utf-8")
        env = {name: remap(value) for name, value in _process_env(rendered, ctr).items()}
        return GatewaySettings.load(config, env=env)


def _enabled(values: dict[str, Any], service: str) -> bool:
    return bool(service_values(service, values)["enabled"])


# ------------------------------------------------------------------------------------------------ chart-wide


@pytest.mark.parametrize("name", sorted(value_sets()))
def test_lint_is_clean(name: str) -> None:
    report = helm.lint(CHART, value_sets()[name], strict=True, kube_version="v1.30.0", namespace=NAMESPACE)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


def test_every_manifest_validates(rendered: Rendered) -> None:
    """Built-in kinds against the Kubernetes OpenAPI schemas (strict: no unknown fields); CRDs against ours."""
    assert rendered.objects
    for obj in rendered.objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        crd = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
        if crd is not None:
            jsonschema.validate(obj, crd)
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{where} is invalid for Kubernetes {version}: {error.message} at {list(error.path)}")


def test_ray_pod_templates_validate_as_pods() -> None:
    """KubeRay turns the head and worker templates into Pods: they must be valid Pod specs."""
    rendered = render(ALL_FEATURES)
    for where, spec in rendered.pod_specs():
        if not where.startswith("RayService"):
            continue
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ray-pod"}, "spec": spec}
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)


def test_crd_schemas_reject_misplaced_fields() -> None:
    """The hand-written CRD schemas do catch mistakes (they would not be worth much otherwise)."""
    rendered = render(ALL_FEATURES)
    ray = json.loads(json.dumps(rendered.get("RayService", RAY)))
    ray["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["rayStartParam"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(ray, CRD_SCHEMAS[("ray.io/v1", "RayService")])
    monitor = json.loads(json.dumps(rendered.of_kind("ServiceMonitor")[0]))
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, CRD_SCHEMAS[("monitoring.coreos.com/v1", "ServiceMonitor")])


def test_labels_and_selectors(rendered: Rendered) -> None:
    for obj in rendered.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "polyad"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "polyad"
        assert labels["helm.sh/chart"] == "polyad-0.1.0"
        if obj["kind"] != "ServiceMonitor" or not rendered.values.get("metrics", {}).get("serviceMonitor", {}).get(
            "namespace"
        ):
            assert obj["metadata"]["namespace"] == NAMESPACE
    for dep in rendered.of_kind("Deployment"):
        selector = dep["spec"]["selector"]["matchLabels"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), dep["metadata"]["name"]
        component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        assert selector["app.kubernetes.io/component"] == component
        # The Service of the same name selects exactly these pods.
        svc = rendered.get("Service", dep["metadata"]["name"])
        assert svc["spec"]["selector"] == selector
        # Service ports name container ports that exist.
        ports = {p["name"] for p in container(dep["spec"]["template"]["spec"])["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports


# ------------------------------------------------------------------------------------------------ ports, routes


def test_service_ports_match_the_service_table(rendered: Rendered) -> None:
    for name, entry in SERVICES.items():
        if not _enabled(rendered.values, name):
            continue
        dep = rendered.get("Deployment", f"{FULLNAME}-{name}")
        ports = {p["name"]: p["containerPort"] for p in container(dep["spec"]["template"]["spec"])["ports"]}
        assert ports == {"grpc": entry.port, "metrics": entry.port + 1000}
        svc = rendered.get("Service", f"{FULLNAME}-{name}")
        assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {
            "grpc": entry.port,
            "metrics": entry.port + 1000,
        }
        assert svc["metadata"]["labels"]["polyad.io/modality"] == name
        settings = _service_settings(rendered, name)
        assert settings.address == f"0.0.0.0:{entry.port}"
        assert settings.metrics_port == entry.port + 1000


def test_chart_knows_every_service_of_the_table() -> None:
    assert set(DOMAIN_SERVICES) == set(SERVICES)
    for name, entry in SERVICES.items():
        assert service_values(name)["containerPorts"] == {"grpc": entry.port, "metrics": entry.port + 1000}
    templates = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    assert re.search(r'define "polyad.serviceNames" -}}\s*' + " ".join(SERVICES), templates)
    ray_helpers = (CHART / "templates" / "ray" / "_ray.tpl").read_text(encoding="utf-8")
    for name, entry in SERVICES.items():
        assert f'"{name}" "{entry.default_detector}"' in ray_helpers


def test_gateway_config_is_valid_gateway_settings(rendered: Rendered) -> None:
    settings = _gateway_settings(rendered)  # extra="forbid": unknown keys fail here
    expected = {
        name: f"{FULLNAME}-{name}.{NAMESPACE}.svc.cluster.local:{entry.port}"
        for name, entry in SERVICES.items()
        if _enabled(rendered.values, name)
    }
    expected.update(rendered.values.get("gateway", {}).get("extraRoutes", {}))
    assert settings.routes == expected
    assert settings.grpc_address == "0.0.0.0:50051" and settings.http_address == "0.0.0.0:8080"
    config_map = rendered.get("ConfigMap", GATEWAY)
    assert json.loads(config_map["data"]["routes.json"]) == expected
    # The gateway reads that file.
    dep = rendered.get("Deployment", GATEWAY)
    spec = dep["spec"]["template"]["spec"]
    args = container(spec)["args"]
    config_path = args[args.index("--config") + 1]
    mount = next(m for m in container(spec)["volumeMounts"] if config_path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == GATEWAY
    assert {i["path"] for i in volume["configMap"]["items"]} == {config_path.rsplit("/", 1)[1]}
    # Discovery is explicit: "auto" would try the Kubernetes API from every pod.
    gateway_values = rendered.values.get("gateway", {})
    discovery = gateway_values.get("discovery", {}).get("enabled", False)
    assert settings.discovery.mode == ("kubernetes" if discovery else "static")
    assert (settings.tls is not None) == gateway_values.get("tls", {}).get("enabled", False)
    assert settings.auth.enabled == gateway_values.get("auth", {}).get("enabled", False)
    assert (settings.upstream_tls is not None) == rendered.values.get("internalTLS", {}).get("enabled", False)


def test_gateway_config_change_rolls_the_pods() -> None:
    before = render({})
    after = render({"vision": {"enabled": False}})

    def checksum(r: Rendered) -> str:
        return r.get("Deployment", GATEWAY)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum(before) != checksum(after)


@pytest.mark.parametrize("disabled", DOMAIN_SERVICES)
def test_disabling_a_service_removes_its_objects_and_route(disabled: str) -> None:
    values = {**ALL_FEATURES, disabled: {"enabled": False}}
    rendered = render(values)
    name = f"{FULLNAME}-{disabled}"
    for kind in ("Deployment", "Service", "NetworkPolicy", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert rendered.find(kind, name) is None, f"{kind} {name} is still rendered"
    external = ALL_FEATURES["gateway"]["extraRoutes"]
    if disabled in external:  # a service disabled here but deployed elsewhere keeps its extra route
        assert rendered.gateway_settings()["routes"][disabled] == external[disabled]
    else:
        assert disabled not in rendered.gateway_settings()["routes"]
    assert disabled not in {app["name"] for app in rendered.serve_config()["applications"]}
    groups = rendered.get("RayService", RAY)["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert disabled not in {g["groupName"] for g in groups}
    # The others stay.
    for other in set(DOMAIN_SERVICES) - {disabled}:
        assert rendered.find("Deployment", f"{FULLNAME}-{other}") is not None
        assert other in rendered.gateway_settings()["routes"]


def test_no_routes_at_all_is_refused() -> None:
    with pytest.raises(helm.HelmError, match="no routes"):
        render({name: {"enabled": False} for name in DOMAIN_SERVICES})
    # ...unless routes point elsewhere.
    only_external = render(
        {**{name: {"enabled": False} for name in DOMAIN_SERVICES}, "gateway": {"extraRoutes": {"vision": "v:1"}}}
    )
    assert only_external.gateway_settings()["routes"] == {"vision": "v:1"}
    assert only_external.names("Service") == [GATEWAY]


# ------------------------------------------------------------------------------------------------ probes


def test_service_probes_use_grpc_health_on_the_bound_port(rendered: Rendered) -> None:
    for name in SERVICES:
        if not _enabled(rendered.values, name):
            continue
        spec = rendered.get("Deployment", f"{FULLNAME}-{name}")["spec"]["template"]["spec"]
        ctr = container(spec)
        bound = int(_service_settings(rendered, name).address.rpartition(":")[2])
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        if rendered.values.get("internalTLS", {}).get("enabled"):
            # Kubelet's gRPC probe has no TLS: the same health check runs in the container over TLS.
            script = ctr["readinessProbe"]["exec"]["command"][2]
            assert f'"127.0.0.1:{bound}"' in script and "HealthStub" in script
        else:
            assert ctr["readinessProbe"]["grpc"] == {"port": bound}
        # Liveness asks polyad.liveness (answered while the event loop runs; readiness waits for a model);
        # kubelet's gRPC probe has no TLS, so with internal TLS it falls back to the listening socket.
        if rendered.values.get("internalTLS", {}).get("enabled"):
            assert ports[ctr["livenessProbe"]["tcpSocket"]["port"]] == bound
        else:
            assert ctr["livenessProbe"]["grpc"] == {"port": bound, "service": LIVENESS_SERVICE}
        assert ports[ctr["startupProbe"]["tcpSocket"]["port"]] == bound


def test_gateway_probes_hit_real_rest_endpoints(rendered: Rendered) -> None:
    from gateway.auth import OPEN_REST_PATHS
    from gateway.dataplane import DataPlane
    from gateway.rest import create_rest_app

    defaults = GatewaySettings()
    paths = {getattr(route, "path", None) for route in create_rest_app(DataPlane(defaults), defaults).routes}
    spec = rendered.get("Deployment", GATEWAY)["spec"]["template"]["spec"]
    ctr = container(spec)
    ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    settings = _gateway_settings(rendered)
    http_port = int(settings.http_address.rpartition(":")[2])
    tls = settings.tls
    client_cert_required = tls is not None and tls.client_ca_file is not None and tls.require_client_cert
    probes = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in probes.items():
        if probe not in ctr:
            assert probe == "startupProbe"
            continue
        if client_cert_required:  # kubelet has no client certificate to present
            assert ports[ctr[probe]["tcpSocket"]["port"]] == http_port
            continue
        get = ctr[probe]["httpGet"]
        assert get["path"] == path and path in paths
        assert path in OPEN_REST_PATHS, f"{path} would need an API key, which probes do not send"
        assert ports[get["port"]] == http_port
        assert get["scheme"] == ("HTTPS" if tls is not None else "HTTP")


def test_services_serve_grpc_health() -> None:
    """The gRPC probe calls grpc.health.v1.Health/Check: the services' server builder registers it."""
    from grpc import aio
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from services.core.server import build_server, set_serving

    async def check() -> int:
        server, health_servicer, port = build_server("probe-test", [], ["polyad.test.v1.TestService"], "127.0.0.1:0")
        await server.start()
        try:
            await set_serving(health_servicer, ["polyad.test.v1.TestService"], True)
            async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            return reply.status
        finally:
            await server.stop(None)

    assert asyncio.run(check()) == health_pb2.HealthCheckResponse.SERVING


# ------------------------------------------------------------------------------------------------ security


def test_secure_defaults_on_every_pod(rendered: Rendered) -> None:
    for where, spec in rendered.pod_specs():
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0, where
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        volumes = {v["name"]: v for v in spec["volumes"]}
        for ctr in spec["containers"]:
            sc = ctr["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["privileged"] is False, where
            assert sc["runAsNonRoot"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            tmp = next(m for m in ctr["volumeMounts"] if m["mountPath"] == "/tmp")
            assert "emptyDir" in volumes[tmp["name"]], where
        if where == "RayService head" and rendered.values.get("ray", {}).get("enableInTreeAutoscaling"):
            # KubeRay binds its own ServiceAccount and Role to the head for the autoscaler sidecar.
            assert "serviceAccountName" not in spec and "automountServiceAccountToken" not in spec
            continue
        is_gateway = where == f"Deployment/{GATEWAY}"
        discovery = rendered.values.get("gateway", {}).get("discovery", {}).get("enabled", False)
        assert spec["automountServiceAccountToken"] is (is_gateway and discovery), where
        account = spec["serviceAccountName"]
        sa = rendered.get("ServiceAccount", account)
        assert sa["automountServiceAccountToken"] is spec["automountServiceAccountToken"], where


def test_discovery_grants_only_list_watch_services() -> None:
    assert not render({}).of_kind("Role") and not render({}).of_kind("RoleBinding")
    rendered = render({"gateway": {"discovery": {"enabled": True}}})
    role = rendered.get("Role", GATEWAY)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]}]
    binding = rendered.get("RoleBinding", GATEWAY)
    spec = rendered.get("Deployment", GATEWAY)["spec"]["template"]["spec"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": GATEWAY}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": spec["serviceAccountName"], "namespace": NAMESPACE}
    ]
    discovery = _gateway_settings(rendered).discovery
    assert discovery.mode == "kubernetes" and discovery.namespace == NAMESPACE
    assert (discovery.label, discovery.port_name) == ("polyad.io/modality", "grpc")
    # What the gateway's discovery reads off each domain Service (gateway/discovery.py route_of).
    from gateway.discovery import route_of

    for name, entry in SERVICES.items():
        svc = rendered.get("Service", f"{FULLNAME}-{name}")
        assert route_of(svc, discovery.label, discovery.port_name) == (
            name,
            f"{FULLNAME}-{name}.{NAMESPACE}.svc:{entry.port}",
        )
    assert route_of(rendered.get("Service", GATEWAY), discovery.label, discovery.port_name) is None


def test_tls_and_api_keys_come_from_secrets() -> None:
    values = example("production")
    rendered = render(values)
    spec = rendered.get("Deployment", GATEWAY)["spec"]["template"]["spec"]
    ctr = container(spec)
    env = env_of(ctr)
    assert env["POLYAD_GATEWAY_API_KEYS"] == {
        "secretKeyRef": {"name": values["gateway"]["auth"]["existingSecret"], "key": "api-keys"}
    }
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == values["gateway"]["tls"]["existingSecret"]
    mount = next(m for m in ctr["volumeMounts"] if m["name"] == "tls")
    settings = _gateway_settings(rendered)
    assert settings.tls is not None
    assert Path(settings.tls.cert_file).name == "tls.crt" and Path(settings.tls.key_file).name == "tls.key"
    config = rendered.gateway_settings()["tls"]
    assert config["cert_file"] == f"{mount['mountPath']}/tls.crt"
    # The process gets the Secret's keys (here the stand-in) and enforces them.
    authenticator = Authenticator(settings.auth)
    assert authenticator.enabled and authenticator.accepts("stand-in-key") and not authenticator.accepts("guess")
    assert not rendered.of_kind("Secret"), "existing Secrets are referenced, never re-created"
    # No secret value lands in a ConfigMap or in a plain env value.
    assert "stand-in-key" not in json.dumps(rendered.objects)


def test_chart_made_api_key_secret() -> None:
    rendered = render({"gateway": {"auth": {"enabled": True, "apiKeys": ["k1", "k2"]}}})
    secret = rendered.get("Secret", f"{FULLNAME}-gateway-auth")
    assert json.loads(base64.b64decode(secret["data"]["api-keys"])) == ["k1", "k2"]
    env = env_of(container(rendered.get("Deployment", GATEWAY)["spec"]["template"]["spec"]))
    assert env["POLYAD_GATEWAY_API_KEYS"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "api-keys"}
    authenticator = Authenticator(_gateway_settings(rendered).auth)
    assert authenticator.accepts("k1") and authenticator.accepts("k2") and not authenticator.accepts("k3")
    assert "k1" not in json.dumps([obj for obj in rendered.objects if obj["kind"] != "Secret"])


def test_internal_tls_settings_of_services_and_gateway() -> None:
    rendered = render({"internalTLS": {"enabled": True, "existingSecret": "internal", "mutual": True}})
    upstream = _gateway_settings(rendered).upstream_tls
    assert upstream is not None and upstream.cert_file and upstream.key_file
    assert Path(upstream.ca_file or "").name == "ca.crt"
    for name in DOMAIN_SERVICES:
        spec = rendered.get("Deployment", f"{FULLNAME}-{name}")["spec"]["template"]["spec"]
        volume = next(v for v in spec["volumes"] if v["name"] == "internal-tls")
        assert volume["secret"]["secretName"] == "internal"
        tls = _service_settings(rendered, name).tls  # type: ignore[attr-defined]
        assert tls is not None and tls.require_client_cert and Path(tls.client_ca_file or "").name == "ca.crt"
        assert "grpc" not in container(spec)["readinessProbe"]  # kubelet's gRPC probe cannot speak TLS


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gateway": {"tls": {"enabled": True}}}, "existingSecret"),
        ({"gateway": {"auth": {"enabled": True}}}, "apiKeys"),
        ({"ray": {"enabled": True}, "vision": {"ray": {"numGpus": 1}}}, "worker.gpus is 0"),
        ({"ray": {"enabled": True}, "vision": {"ray": {"numGpus": 2, "worker": {"gpus": 1}}}}, "exceeds"),
        ({"logs": {"ray": {"worker": {"replicas": 5}}}}, "minReplicas <= replicas <= maxReplicas"),
        ({"gateway": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}, "minReplicas exceeds maxReplicas"),
    ],
    ids=[
        "tls-without-secret",
        "auth-without-keys",
        "gpus-without-gpu-workers",
        "gpus-beyond-worker",
        "worker-replicas-out-of-range",
        "hpa-min-above-max",
    ],
)
def test_inconsistent_values_fail_to_render(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)


# ------------------------------------------------------------------------------------------------ optional objects


def test_optional_objects_are_off_by_default() -> None:
    rendered = render({})
    for kind in (
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "ServiceMonitor",
        "RayService",
        "PersistentVolumeClaim",
        "Secret",
        "Role",
        "RoleBinding",
    ):
        assert not rendered.of_kind(kind), kind
    # Secure default: network policies are on.
    assert rendered.names("NetworkPolicy") == sorted([GATEWAY, *(f"{FULLNAME}-{n}" for n in DOMAIN_SERVICES)])
    # Inline backend without Ray.
    for name in DOMAIN_SERVICES:
        assert _service_settings(rendered, name).backend.kind == "inline"


def test_optional_objects_when_enabled() -> None:
    rendered = render(ALL_FEATURES)
    deployments = rendered.names("Deployment")
    assert rendered.names("HorizontalPodAutoscaler") == deployments
    assert rendered.names("PodDisruptionBudget") == deployments
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] == hpa["metadata"]["name"]
        assert "replicas" not in rendered.get("Deployment", target["name"])["spec"]
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        dep = rendered.get("Deployment", pdb["metadata"]["name"])
        assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    assert rendered.names("Ingress") == [GATEWAY, f"{GATEWAY}-grpc"]
    rest, grpc = rendered.get("Ingress", GATEWAY), rendered.get("Ingress", f"{GATEWAY}-grpc")
    assert rest["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {
        "name": GATEWAY,
        "port": {"name": "http"},
    }
    assert grpc["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"name": "grpc"}
    assert rest["spec"]["tls"][0]["secretName"] == "polyad.local-tls"
    assert rendered.names("PersistentVolumeClaim") == [f"{FULLNAME}-models"]
    assert rendered.names("NetworkPolicy") == sorted([GATEWAY, RAY, *(f"{FULLNAME}-{n}" for n in DOMAIN_SERVICES)])


def test_service_monitors_scrape_real_metrics_ports() -> None:
    rendered = render(ALL_FEATURES)
    monitors = {m["metadata"]["name"]: m for m in rendered.of_kind("ServiceMonitor")}
    assert set(monitors) == {GATEWAY, f"{FULLNAME}-services"}
    for monitor in monitors.values():
        assert monitor["metadata"]["labels"]["release"] == "prom"
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    gateway_endpoint = monitors[GATEWAY]["spec"]["endpoints"][0]
    assert gateway_endpoint["port"] == "http" and gateway_endpoint["path"] == "/metrics"
    services_monitor = monitors[f"{FULLNAME}-services"]["spec"]
    assert services_monitor["endpoints"][0]["port"] == "metrics"
    # The selector picks every domain Service and not the gateway's.
    selector = services_monitor["selector"]
    for svc in rendered.of_kind("Service"):
        labels = svc["metadata"]["labels"]
        picked = selector["matchLabels"].items() <= labels.items() and all(
            expr["key"] in labels for expr in selector["matchExpressions"]
        )
        assert picked == (svc["metadata"]["name"] != GATEWAY), svc["metadata"]["name"]
        if picked:
            assert "metrics" in {p["name"] for p in svc["spec"]["ports"]}


def test_network_policies_only_let_the_gateway_call_services() -> None:
    rendered = render(ALL_FEATURES)
    gateway_labels = rendered.get("Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    for name in DOMAIN_SERVICES:
        policy = rendered.get("NetworkPolicy", f"{FULLNAME}-{name}")
        grpc_rule = policy["spec"]["ingress"][0]
        assert grpc_rule["ports"] == [{"port": SERVICES[name].port, "protocol": "TCP"}]
        [peer] = grpc_rule["from"]
        assert peer["podSelector"]["matchLabels"].items() <= gateway_labels.items()
        assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
        # Restricted egress: DNS and the release's pods only.
        egress = policy["spec"]["egress"]
        assert {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]} in egress
        assert {} not in egress
    gateway_policy = rendered.get("NetworkPolicy", GATEWAY)
    assert {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]} in gateway_policy["spec"][
        "egress"
    ], "discovery needs the API server"


# ------------------------------------------------------------------------------------------------ Ray and GPUs


def test_services_reach_the_ray_service_head() -> None:
    rendered = render(example("gpu"))
    for name in DOMAIN_SERVICES:
        if not _enabled(rendered.values, name):
            continue
        backend = _service_settings(rendered, name).backend
        assert backend.kind == "ray"
        assert backend.ray_address == f"ray://{RAY}-head-svc.{NAMESPACE}.svc.cluster.local:10001"
    head = rendered.get("RayService", RAY)["spec"]["rayClusterConfig"]["headGroupSpec"]
    ports = {p["name"]: p["containerPort"] for p in container(head["template"]["spec"])["ports"]}
    assert ports["client"] == 10001


def test_backend_env_holds_only_real_backend_fields(rendered: Rendered) -> None:
    for name in DOMAIN_SERVICES:
        if not _enabled(rendered.values, name):
            continue
        dep = rendered.get("Deployment", f"{FULLNAME}-{name}")
        raw = json.loads(env_of(container(dep["spec"]["template"]["spec"]))[f"POLYAD_{name.upper()}_BACKEND"])
        assert set(raw) <= set(BackendSettings.model_fields), set(raw) - set(BackendSettings.model_fields)
        BackendSettings.model_validate(raw)


def test_gpu_values_reach_workers_serve_config_and_services() -> None:
    values = example("gpu")
    rendered = render(values)
    groups = {
        g["groupName"]: g for g in rendered.get("RayService", RAY)["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    }
    apps = {app["name"]: app for app in rendered.serve_config()["applications"]}
    for name in DOMAIN_SERVICES:
        if not _enabled(values, name):
            assert name not in groups and name not in apps
            continue
        ray_values = service_values(name, values)["ray"]
        gpus = ray_values["worker"]["gpus"]
        per_replica = ray_values["numGpus"]
        worker = container(groups[name]["template"]["spec"])
        limits = worker["resources"]["limits"]
        if gpus:
            assert limits["nvidia.com/gpu"] == gpus
            tolerations = groups[name]["template"]["spec"]["tolerations"]
            assert any(t["key"] == "nvidia.com/gpu" for t in tolerations)
        else:
            assert "nvidia.com/gpu" not in limits
        assert groups[name]["rayStartParams"]["num-gpus"] == str(gpus)
        [deployment] = apps[name]["deployments"]
        assert deployment["ray_actor_options"]["num_gpus"] == per_replica
        assert apps[name]["args"]["backend"]["num_gpus"] == per_replica
        assert _service_settings(rendered, name).backend.num_gpus == per_replica
    assert groups["vision"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert container(groups["vision"]["template"]["spec"])["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_serve_config_is_a_valid_ray_serve_config() -> None:
    schema = pytest.importorskip("ray.serve.schema", reason="needs the ray extra")
    rendered = render(ALL_FEATURES)
    config = (
        schema.ServeDeploySchema.model_validate(rendered.serve_config())
        if hasattr(schema.ServeDeploySchema, "model_validate")
        else schema.ServeDeploySchema.parse_obj(rendered.serve_config())
    )
    assert [app.name for app in config.applications] == list(DOMAIN_SERVICES)
    assert len({app.route_prefix for app in config.applications}) == len(DOMAIN_SERVICES)
    for app in config.applications:
        [deployment] = app.deployments
        entry = SERVICES[app.name]
        # The deployment name RayBackend gives a service's detector: "<service>-<detector>".
        assert deployment.name == f"{app.name}-{entry.default_detector}"
        assert app.args["store_root"] == rendered.values.get("modelStore", {}).get("mountPath", "/models")


def test_serve_import_path_module_exists() -> None:
    """The Serve applications import the builder named by ray.serveImportPath."""
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    module, _, _ = values["ray"]["serveImportPath"].partition(":")
    assert importlib.util.find_spec(module) is not None


def test_serve_import_path_attribute_exists() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    module, _, attribute = values["ray"]["serveImportPath"].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute, None))


def test_ray_pods_share_the_model_store_with_the_services() -> None:
    rendered = render(example("gpu"))
    mount_path = "/models"
    for where, spec in rendered.pod_specs():
        volumes = {v["name"]: v for v in spec["volumes"]}
        for ctr in spec["containers"]:
            if where.startswith("Deployment") and ctr["name"] == "gateway":
                continue
            mount = next(m for m in ctr["volumeMounts"] if m["mountPath"] == mount_path)
            assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == f"{FULLNAME}-models", where


# ------------------------------------------------------------------------------------------------ values and schema


def _leaf_paths(values: Any, prefix: str = "") -> set[str]:
    if isinstance(values, dict) and values:
        out: set[str] = set()
        for key, value in values.items():
            out |= _leaf_paths(value, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix}


def test_every_value_is_documented() -> None:
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\s*## @param (\S+) \S", text, re.M))
    values = yaml.safe_load(text)
    leaves = _leaf_paths(values)
    # A documented object (e.g. `resources`) covers its keys.
    undocumented = {leaf for leaf in leaves if not any(leaf == d or leaf.startswith(d + ".") for d in documented)}
    assert not undocumented, sorted(undocumented)
    stale = {d for d in documented if not any(leaf == d or leaf.startswith(d + ".") for leaf in leaves)}
    assert not stale, sorted(stale)


def test_schema_covers_values_and_rejects_typos() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(values, schema)
    with helm.Chart.load(CHART) as chart:
        assert chart.schema == schema
        for bad in (
            {"vision": {"enabeld": False}},
            {"vision": {"ray": {"numGpus": -1}}},
            {"gateway": {"containerPorts": {"grpc": 70000}}},
            {"image": {"pullPolicy": "Sometimes"}},
            {"timeseries": {"replicaCount": "two"}},
        ):
            with pytest.raises(helm.HelmError):
                chart.validate_schema(bad)


# ------------------------------------------------------------------------------------------------ serviceDefaults


def _service_pod(rendered: Rendered, name: str) -> dict[str, Any]:
    return rendered.get("Deployment", f"{FULLNAME}-{name}")["spec"]["template"]["spec"]


# What only a service's own block sets (serviceDefaults has none of these).
SERVICE_OWN_FIELDS = {
    "enabled",
    "image.repository",
    "containerPorts.grpc",
    "containerPorts.metrics",
    "service.ports.grpc",
    "service.ports.metrics",
}


def test_service_blocks_hold_only_what_differs_from_service_defaults() -> None:
    """values.yaml states each shared field once, under serviceDefaults; a service's block repeats none of them."""
    values = chart_values()
    assert set(DOMAIN_SERVICES) <= set(values), "every service of polyad.serviceNames needs a block in values.yaml"
    defaults = _leaf_paths(values["serviceDefaults"])
    for name in DOMAIN_SERVICES:
        own = _leaf_paths(values[name])
        assert own <= SERVICE_OWN_FIELDS | defaults, sorted(own - SERVICE_OWN_FIELDS - defaults)
        repeated = {path for path in own & defaults if _at(values[name], path) == _at(values["serviceDefaults"], path)}
        assert not repeated, f"{name} repeats serviceDefaults: {sorted(repeated)}"


def _at(values: Any, path: str) -> Any:
    for part in path.split("."):
        values = values[part]
    return values


def test_a_field_left_out_of_a_service_falls_back_to_service_defaults() -> None:
    defaults = chart_values()["serviceDefaults"]
    values = {
        "serviceDefaults": {
            "replicaCount": 3,
            "terminationGracePeriodSeconds": 45,
            "resources": {"limits": {"memory": "6Gi"}},
            "podLabels": {"tier": "models"},
        }
    }
    rendered = render(values)
    for name in DOMAIN_SERVICES:
        dep = rendered.get("Deployment", f"{FULLNAME}-{name}")
        spec = dep["spec"]["template"]["spec"]
        assert dep["spec"]["replicas"] == 3
        assert spec["terminationGracePeriodSeconds"] == 45
        assert dep["spec"]["template"]["metadata"]["labels"]["tier"] == "models"
        # Maps merge key by key: the default requests stay beside the new limit.
        assert container(spec)["resources"] == {
            "requests": defaults["resources"]["requests"],
            "limits": {"memory": "6Gi"},
        }
        assert container(spec)["readinessProbe"]["periodSeconds"] == defaults["readinessProbe"]["periodSeconds"]
        assert service_values(name, values)["replicaCount"] == 3
    # With no values at all every service gets serviceDefaults' fields.
    for name in DOMAIN_SERVICES:
        spec = _service_pod(render({}), name)
        assert container(spec)["resources"] == defaults["resources"]
        assert spec["terminationGracePeriodSeconds"] == defaults["terminationGracePeriodSeconds"]


def test_a_service_override_beats_service_defaults() -> None:
    values = {
        "ray": {"enabled": True},
        "serviceDefaults": {"replicaCount": 3, "pdb": {"enabled": True}, "image": {"tag": "2.0.0"}},
        "vision": {
            "replicaCount": 2,
            "resources": {"limits": {"memory": "8Gi"}},
            "ray": {"numGpus": 1, "worker": {"gpus": 1}},
            "image": {"tag": "2.0.0-cu128"},
        },
        "logs": {"pdb": {"enabled": False}, "livenessProbe": {"enabled": False}},
    }
    rendered = render(values)
    defaults = chart_values()["serviceDefaults"]
    vision = rendered.get("Deployment", f"{FULLNAME}-vision")
    assert vision["spec"]["replicas"] == 2
    assert container(vision["spec"]["template"]["spec"])["resources"] == {
        "requests": defaults["resources"]["requests"],
        "limits": {"memory": "8Gi"},
    }
    assert container(vision["spec"]["template"]["spec"])["image"] == "polyad/vision:2.0.0-cu128"
    # The override stays with its service.
    timeseries = rendered.get("Deployment", f"{FULLNAME}-timeseries")
    assert timeseries["spec"]["replicas"] == 3
    assert container(timeseries["spec"]["template"]["spec"])["resources"] == defaults["resources"]
    assert container(timeseries["spec"]["template"]["spec"])["image"] == "polyad/timeseries:2.0.0"
    # false beats a true default.
    assert rendered.names("PodDisruptionBudget") == sorted(f"{FULLNAME}-{n}" for n in DOMAIN_SERVICES if n != "logs")
    assert "livenessProbe" not in container(_service_pod(rendered, "logs"))
    assert "livenessProbe" in container(_service_pod(rendered, "graph"))
    # Nested Ray values: one field of one service changes, the rest comes from serviceDefaults.
    groups = {
        g["groupName"]: g for g in rendered.get("RayService", RAY)["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    }
    worker = container(groups["vision"]["template"]["spec"])["resources"]
    assert worker["limits"] == {**defaults["ray"]["worker"]["resources"]["limits"], "nvidia.com/gpu": 1}
    assert "nvidia.com/gpu" not in container(groups["graph"]["template"]["spec"])["resources"]["limits"]
    assert _service_settings(rendered, "vision").backend.num_gpus == 1
    assert _service_settings(rendered, "vision").backend.max_batch_size == defaults["ray"]["maxBatchSize"]
    assert _service_settings(rendered, "timeseries").backend.num_gpus == 0
    for name in DOMAIN_SERVICES:
        effective = service_values(name, values)
        assert rendered.get("Deployment", f"{FULLNAME}-{name}")["spec"]["replicas"] == effective["replicaCount"]


def test_schema_takes_partial_service_blocks_and_checks_service_defaults() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema({"vision": {"ray": {"numGpus": 1}}, "serviceDefaults": {"replicaCount": 2}})
        for bad in (
            {"serviceDefaults": {"replicaCount": "two"}},
            {"serviceDefaults": {"ray": {"numGpu": 1}}},
            {"serviceDefaults": {"enabled": False}},  # each service switches itself on
            {"graph": {"ray": {"worker": {"gpus": -1}}}},
        ):
            with pytest.raises(helm.HelmError):
                chart.validate_schema(bad)


def test_image_references() -> None:
    rendered = render(
        {
            "image": {"registry": "reg.example.com/", "tag": "1.2.3"},
            "vision": {"image": {"digest": "sha256:" + "a" * 64}},
        }
    )
    images = {
        dep["metadata"]["name"]: container(dep["spec"]["template"]["spec"])["image"]
        for dep in rendered.of_kind("Deployment")
    }
    assert images[GATEWAY] == "reg.example.com/polyad/gateway:1.2.3"
    assert images[f"{FULLNAME}-vision"] == "reg.example.com/polyad/vision@sha256:" + "a" * 64
    assert images[f"{FULLNAME}-timeseries"] == "reg.example.com/polyad/timeseries:1.2.3"
    assert container(render({}).get("Deployment", GATEWAY)["spec"]["template"]["spec"])["image"] == (
        "polyad/gateway:0.1.0"
    )


def test_service_settings_values_become_env() -> None:
    rendered = render({"timeseries": {"settings": {"max_series_per_request": 128, "default_detector": "comet"}}})
    settings = _service_settings(rendered, "timeseries")
    assert settings.max_series_per_request == 128  # type: ignore[attr-defined]
    assert settings.default_detector == "comet"  # type: ignore[attr-defined]


def test_notes_list_the_routes() -> None:
    rendered = render(example("minimal"))
    assert f"timeseries -> {FULLNAME}-timeseries.{NAMESPACE}.svc.cluster.local:50061" in rendered.notes
    assert "vision ->" not in rendered.notes


def test_readme_documents_every_parameter() -> None:
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    assert "## Deploy on Kubernetes" in readme
    missing = [p for p in re.findall(r"^\s*## @param (\S+) ", text, re.M) if f"| `{p}` |" not in readme]
    assert not missing, f"README.md parameter tables lack {missing}"


def test_containers_run_their_own_image_entrypoint(rendered: Rendered) -> None:
    """Each Deployment runs the image built for it (docker/Dockerfile target = last path segment), unmodified."""
    for dep in rendered.of_kind("Deployment"):
        component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        ctr = container(dep["spec"]["template"]["spec"])
        assert "command" not in ctr, "the image's ENTRYPOINT starts the component"
        repository = re.split(r"[:@]", ctr["image"].rsplit("/", 1)[1])[0]
        assert repository == component
    for where, spec in rendered.pod_specs():
        if where.startswith("RayService"):
            assert re.split(r"[:@]", container(spec)["image"].rsplit("/", 1)[1])[0] == "ray"


def _certificates(folder: Path, dns_name: str) -> None:
    """A CA (ca.crt) and a certificate for ``dns_name`` it signed (tls.crt, tls.key), for server and client use."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("polyad-test-ca", ca_key, "polyad-test-ca", ca_key, ca=True)
    cert = build(dns_name, key, "polyad-test-ca", ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (folder / "tls.crt").write_bytes(cert.public_bytes(pem))
    (folder / "tls.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_internal_tls_readiness_probe_checks_health_over_mtls(tmp_path: Path) -> None:
    """Run the rendered exec probe against a real service server that requires client certificates."""
    pytest.importorskip("cryptography")
    from services.core.server import build_server, set_serving
    from services.core.tls import ServerTLSSettings

    mount = "/etc/polyad/internal-tls"
    rendered = render({"internalTLS": {"enabled": True, "existingSecret": "internal", "mutual": True}})
    spec = rendered.get("Deployment", f"{FULLNAME}-vision")["spec"]["template"]["spec"]
    probe = container(spec)["readinessProbe"]
    command = probe["exec"]["command"]
    assert command[:2] == ["python", "-c"] and mount in command[2]
    assert next(m for m in container(spec)["volumeMounts"] if m["name"] == "internal-tls")["mountPath"] == mount
    _certificates(tmp_path, f"{FULLNAME}-vision.{NAMESPACE}.svc.cluster.local")
    settings = _service_settings(rendered, "vision")
    assert settings.tls is not None  # type: ignore[attr-defined]
    files = settings.tls.model_dump()  # type: ignore[attr-defined]
    for name in ("cert_file", "key_file", "client_ca_file"):  # the Secret's files, here in tmp_path
        files[name] = str(tmp_path / Path(files[name]).name)
    tls = ServerTLSSettings(**files)

    async def probe_once(serving: bool) -> int:
        server, health, port = build_server(
            "probe", [], ["polyad.vision.v1.VisionService"], "127.0.0.1:0", credentials=tls.grpc_credentials()
        )
        await server.start()
        try:
            await set_serving(health, ["polyad.vision.v1.VisionService"], serving)
            script = (
                command[2]
                .replace(mount + "/", f"{tmp_path}/")
                .replace(f"127.0.0.1:{SERVICES['vision'].port}", f"127.0.0.1:{port}")
            )
            process = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
            return await asyncio.wait_for(process.wait(), timeout=probe["timeoutSeconds"] + 10)
        finally:
            await server.stop(None)

    assert asyncio.run(probe_once(True)) == 0
    assert asyncio.run(probe_once(False)) == 1


def test_long_names_stay_within_kubernetes_limits() -> None:
    long_name = "a-very-long-release-name-that-goes-on-and-on-for-ever-x"  # 56 characters
    rendered = render({"fullnameOverride": long_name, "ray": {"enabled": True}})
    for obj in rendered.objects:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
    [ray] = rendered.of_kind("RayService")
    name = ray["metadata"]["name"]
    assert len(name) <= 48 and name.endswith("-ray")  # KubeRay's limit for a RayService
    [vision] = [d for d in rendered.of_kind("Deployment") if d["metadata"]["name"].endswith("-vision")]
    backend = json.loads(env_of(container(vision["spec"]["template"]["spec"]))["POLYAD_VISION_BACKEND"])
    assert backend["ray_address"].startswith(f"ray://{name}-head-svc.")
    assert len(f"{name}-head-svc") <= 63


def test_schema_and_readme_tables_are_up_to_date() -> None:
    """values.schema.json and README.md's tables are generated from values.yaml: regenerate after editing it."""
    result = subprocess.run(
        [sys.executable, str(CHART / "tools" / "generate_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
