"""One declaration per service: a :class:`ServiceSpec` in ``services/<name>/spec.py``.

Registered under the ``polyad.services`` entry-point group (``<name> = "services.<name>.spec:SPEC"``),
or named in ``$POLYAD_SERVICE_SPECS`` (``module:attribute`` items, comma-separated) for services
that live outside an installed package. The CLI's service list and commands, ``polyad up``, the
gateway's routes, ports and KServe table, the Dockerfile targets and the chart's service list are
derived from (or checked against) the registered specs. A spec names code by dotted path and
imports nothing heavy, so reading every spec costs milliseconds.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

__all__ = ["GROUP", "SPECS_ENV", "ServiceSpec", "load_object", "service_spec", "service_specs"]

GROUP = "polyad.services"
SPECS_ENV = "POLYAD_SERVICE_SPECS"


def load_object(reference: str) -> Any:
    """The object a ``module:attribute`` reference names (``module`` alone gives the module)."""
    module, _, attribute = reference.partition(":")
    loaded: Any = importlib.import_module(module)
    for part in filter(None, attribute.split(".")):
        loaded = getattr(loaded, part)
    return loaded


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """Everything the platform needs to know about one domain service.

    The service's modality (the gateway's route key and REST path segment) is its ``name``.
    """

    name: str  # "timeseries": route key, REST path segment, store folder, env prefix POLYAD_<NAME>_
    title: str  # one line for help texts and the startup table
    grpc_service: str  # full gRPC service name, e.g. "polyad.timeseries.v1.TimeSeriesService"
    proto_module: str  # generated messages, e.g. "polyad.timeseries.v1.timeseries_pb2" (+ "_grpc" for stubs)
    servicer: str  # "module:Class" built as Class(models, settings)
    settings: str  # "module:Class", a services.core.settings.ServiceSettings subclass
    default_detector: str  # trained by ``polyad up`` on first start, used when a request names none
    port: int  # default local gRPC port; Prometheus metrics listen on port + 1000
    extra: str = ""  # the pip extra that installs the service's dependencies (default: its name)
    default_model: str = ""  # "module:function(store, progress, overrides) -> StoredModel" (bundled data)
    cli: str = ""  # module with train(args) / score(args) / evaluate(args) and optional add_arguments(parser)
    gateway: str = ""  # module with the gateway's REST routes (add_routes) and KServe ADAPTER, if any
    stream: bool = False  # the service implements a bidirectional StreamDetect
    data_help: str = ""  # what ``polyad train <name> --data`` accepts
    files_help: str = ""  # what ``polyad score <name> FILES`` accepts
    detectors: Mapping[str, str] = field(default_factory=dict)  # extra detector plugins "name" -> "module:Class"

    # -- derived --------------------------------------------------------------------------
    @property
    def modality(self) -> str:
        """The route key of this service (its name)."""
        return self.name

    @property
    def env_prefix(self) -> str:
        """Prefix of the environment variables that set its settings."""
        return f"POLYAD_{self.name.upper()}_"

    @property
    def metrics_port(self) -> int:
        """Default Prometheus port."""
        return self.port + 1000

    @property
    def proto_package(self) -> str:
        """The protobuf package, e.g. ``polyad.timeseries.v1``."""
        return self.grpc_service.rpartition(".")[0]

    @property
    def grpc_short_name(self) -> str:
        """The service name without its package, e.g. ``TimeSeriesService``."""
        return self.grpc_service.rpartition(".")[2]

    @property
    def pip_extra(self) -> str:
        """The extra of the ``polyad`` distribution that installs this service."""
        return self.extra or self.name

    def method_path(self, method: str) -> str:
        """The gRPC path of one method, e.g. ``/polyad.timeseries.v1.TimeSeriesService/Detect``."""
        return f"/{self.grpc_service}/{method}"

    def messages(self) -> ModuleType:
        """The generated message module (imports only protobuf)."""
        return importlib.import_module(self.proto_module)

    def settings_class(self) -> type:
        """The settings class (imports the service's config module)."""
        return load_object(self.settings)

    def load_settings(self, path: str | None = None, env: Mapping[str, str] | None = None) -> Any:
        """Settings from defaults, an optional YAML file (its ``<name>`` section when nested), then env vars."""
        from services.core.settings import load_settings

        return self.complete(load_settings(self.settings_class(), path, self.env_prefix, section=self.name, env=env))

    def complete(self, settings: Any) -> Any:
        """``settings`` with the spec's defaults where they are empty (address on its port, default detector)."""
        update = {}
        if not settings.address:
            update["address"] = f"127.0.0.1:{self.port}"
        if not settings.default_detector:
            update["default_detector"] = self.default_detector
        return settings.model_copy(update=update) if update else settings

    def add_servicer(self, servicer: object, server: Any) -> None:
        """Register ``servicer`` on a grpc server with the generated ``add_<Service>Servicer_to_server``."""
        grpc_module = importlib.import_module(f"{self.proto_module}_grpc")
        getattr(grpc_module, f"add_{self.grpc_short_name}Servicer_to_server")(servicer, server)


def _entry_point_specs() -> list[ServiceSpec]:
    return [entry.load() for entry in entry_points(group=GROUP)]


def _environment_specs() -> list[ServiceSpec]:
    return [load_object(item.strip()) for item in os.environ.get(SPECS_ENV, "").split(",") if item.strip()]


@cache
def _specs(extra: str) -> dict[str, ServiceSpec]:
    found: dict[str, ServiceSpec] = {}
    for spec in [*_entry_point_specs(), *_environment_specs()]:
        if not isinstance(spec, ServiceSpec):
            raise TypeError(f"a {GROUP} entry names {type(spec).__name__}, not a ServiceSpec")
        if spec.name in found and found[spec.name] != spec:
            raise ValueError(f"two service specs are named {spec.name!r}")
        found[spec.name] = spec
    ports = [spec.port for spec in found.values()]
    if len(set(ports)) != len(ports):
        raise ValueError(f"service specs share a port: {sorted(ports)}")
    return dict(sorted(found.items(), key=lambda item: item[1].port))


def service_specs() -> dict[str, ServiceSpec]:
    """Every registered service by name, in port order."""
    return _specs(os.environ.get(SPECS_ENV, ""))


def service_spec(name: str) -> ServiceSpec:
    """The spec of one service; ``KeyError`` naming the known services otherwise."""
    specs = service_specs()
    if name not in specs:
        raise KeyError(f"unknown service {name!r}; known services: {', '.join(specs) or 'none'}")
    return specs[name]
