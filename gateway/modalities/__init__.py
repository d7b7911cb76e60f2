"""Each modality's gateway code in one module (REST endpoints, KServe v2 adapter), named by its service spec.

A module declares ``add_routes(app, dataplane, router)`` and optionally ``ADAPTER`` (a
:class:`gateway.kserve_models.Adapter`). Services without a module are still routed over gRPC
(``DetectRequest.other``) and the generic REST endpoint ``POST /v1/<modality>/detect``.
"""

from __future__ import annotations

from types import ModuleType

from services.core.spec import load_object, service_specs

__all__ = ["modality_modules"]


def modality_modules() -> dict[str, ModuleType]:
    """The gateway module of every registered service that declares one, by modality."""
    return {name: load_object(spec.gateway) for name, spec in service_specs().items() if spec.gateway}
