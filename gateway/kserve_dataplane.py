"""The KServe v2 data plane: health, metadata and inference over the gateway's :class:`DataPlane`.

Both v2 transports (``gateway.kserve_grpc``, ``gateway.kserve_rest``) call only this, as KServe's
``protocol/dataplane.py``. Inference translates v2 tensors into the modality's native Detect request
(``gateway.kserve_models``) and sends it with :meth:`DataPlane.forward`, so scores are byte-identical
to the native API's. Errors are ``services.core.errors`` exceptions, mapped to codes in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from gateway.dataplane import DataPlane
from gateway.kserve_models import KServeModel, TensorMeta, find_model, model_table, policy_from_parameters
from gateway.routing import Route
from polyad.common.v1 import common_pb2
from services.core.errors import InvalidInputError, PolyadError

__all__ = ["EXTENSIONS", "SERVER_NAME", "InferRequest", "InferResponse", "KServeDataPlane"]

SERVER_NAME = "polyad-gateway"
EXTENSIONS = ["binary_tensor_data", "model_configuration", "model_repository", "parameters"]


@dataclass(slots=True)
class InferRequest:
    """A decoded v2 inference request: named input arrays with their declared datatypes."""

    inputs: list[tuple[str, str, np.ndarray]]  # (name, v2 datatype, array)
    outputs: list[str] | None = None  # requested output names; None = all
    parameters: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(slots=True)
class InferResponse:
    """A v2 inference answer: the model version that scored and the output arrays, in order."""

    model_name: str
    model_version: str
    id: str
    outputs: list[tuple[TensorMeta, np.ndarray]]


def _server_version() -> str:
    try:
        return version("polyad")
    except PackageNotFoundError:
        return "0"


class KServeDataPlane:
    """v2 operations on the routed services' detectors (``<modality>-<detector>`` models)."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane
        self._version = _server_version()

    async def _service_detectors(self, route: Route) -> tuple[list[str], dict[str, str]]:
        """(detectors, {detector: why it cannot run}) as a routed service reports them (``GetModelInfo``, cached
        by the data plane); its spec's default while it cannot answer."""
        info = await self.dataplane.latest_model_info(route)
        if info is None:
            return [route.spec.default_detector], {}
        return list(info.detectors) or [info.detector], dict(info.unavailable_detectors)

    async def models(self) -> dict[str, KServeModel]:
        """The v2 models of the currently routed services, as the services report them (routes may change)."""
        routes = self.dataplane.router.routes
        found = await asyncio.gather(*(self._service_detectors(route) for route in routes))
        return model_table({route.modality: names for route, (names, _) in zip(routes, found, strict=True)})

    async def _unavailable(self, model: KServeModel) -> str:
        """Why the model's detector cannot run in its service's deployment ("" when it can)."""
        _, unavailable = await self._service_detectors(self.dataplane.router.get(model.modality))
        return unavailable.get(model.detector, "")

    async def model(self, name: str) -> KServeModel:
        """The v2 model ``name``; ``ModelNotFoundError`` otherwise."""
        return find_model(await self.models(), name)

    async def repository_index(self) -> list[dict[str, str]]:
        """Triton's repository index: every v2 model of the routed services with its state (READY / UNAVAILABLE)."""
        models = await self.models()
        ready = await asyncio.gather(*(self.model_ready(name) for name in models))
        reasons = await asyncio.gather(*(self._unavailable(model) for model in models.values()))
        return [{"name": name, "version": "", "state": "READY" if ok else "UNAVAILABLE", "reason": reason}
                for name, ok, reason in zip(models, ready, reasons, strict=True)]

    def server_metadata(self) -> dict[str, Any]:
        """``{"name", "version", "extensions"}``."""
        return {"name": SERVER_NAME, "version": self._version, "extensions": list(EXTENSIONS)}

    async def server_ready(self) -> bool:
        """True when every routed service reports SERVING."""
        services = (await self.dataplane.list_services()).services
        return bool(services) and all(service.ready for service in services)

    async def model_info(
        self, name: str, model_version: str = "", timeout: float | None = None
    ) -> common_pb2.ModelInfo:
        """The native ``ModelInfo`` of a model version, asked of its service."""
        model = await self.model(name)
        route = self.dataplane.router.get(model.modality)
        request = route.spec.messages().GetModelInfoRequest(model=model.ref(model_version))
        answer = await self.dataplane.unary(route, "GetModelInfo", request, timeout)
        return answer.model

    async def model_ready(self, name: str, model_version: str = "") -> bool:
        """True when the model's service can load the version (unknown model names are NOT_FOUND)."""
        model = await self.model(name)
        if await self._unavailable(model):
            return False
        try:
            await self.model_info(name, model_version, self.dataplane.settings.health_timeout_s)
        except PolyadError:
            return False
        return True

    async def model_metadata(self, name: str, model_version: str = "") -> dict[str, Any]:
        """v2 model metadata: name, versions, platform, inputs and outputs."""
        model = await self.model(name)
        info = await self.model_info(name, model_version)
        return {
            "name": model.name,
            "versions": [info.version],
            "platform": f"polyad_{info.backend or 'inline'}",
            "inputs": [t.json() for t in model.adapter.inputs(info)],
            "outputs": [t.json() for t in model.adapter.outputs()],
        }

    async def model_config(self, name: str, model_version: str = "") -> Any:
        """Triton's ``inference.ModelConfig`` for the model (the ``model_configuration`` extension)."""
        from tritonclient.grpc import model_config_pb2 as mc

        meta = await self.model_metadata(name, model_version)
        return mc.ModelConfig(
            name=meta["name"],
            platform=meta["platform"],
            max_batch_size=0,  # the batch axis, where there is one, is part of each tensor's dims
            input=[mc.ModelInput(name=t["name"], data_type=mc.DataType.Value(f"TYPE_{t['datatype']}"), dims=t["shape"])
                   for t in meta["inputs"]],
            output=[mc.ModelOutput(name=t["name"], data_type=mc.DataType.Value(f"TYPE_{t['datatype']}"),
                                   dims=t["shape"]) for t in meta["outputs"]],
        )

    async def infer(
        self, name: str, model_version: str, request: InferRequest, timeout: float | None = None
    ) -> InferResponse:
        """Check the inputs against the model's tensors, forward natively, return the requested outputs."""
        model = await self.model(name)
        arrays = check_inputs(model.adapter.inputs(None), request.inputs)
        declared = {t.name: t for t in model.adapter.outputs()}
        wanted = _wanted_outputs(declared, request.outputs)
        native = model.adapter.request(
            arrays, model.ref(model_version), policy_from_parameters(request.parameters), frozenset(wanted)
        )
        route = self.dataplane.router.get(model.modality)
        answered, results = model.adapter.results(await self.dataplane.forward(route, native, timeout))
        outputs = [(declared[key], results[key]) for key in wanted if key in results]
        return InferResponse(model.name, answered.version, request.id, outputs)


def check_inputs(
    declared: Sequence[TensorMeta], given: Sequence[tuple[str, str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Name, datatype and rank of each input against the model's; every declared input present once."""
    specs = {t.name: t for t in declared}
    arrays: dict[str, np.ndarray] = {}
    for name, datatype, array in given:
        spec = specs.get(name)
        if spec is None:
            raise InvalidInputError(f"unexpected input {name!r}; the model's inputs are {', '.join(specs)}", name)
        if name in arrays:
            raise InvalidInputError(f"input {name!r} is given more than once", name)
        if datatype != spec.datatype:
            raise InvalidInputError(f"input {name!r}: datatype {datatype} does not match the model's {spec.datatype}",
                                    name)
        if array.ndim != len(spec.shape) or any(d not in (-1, s) for d, s in zip(spec.shape, array.shape, strict=True)):
            raise InvalidInputError(
                f"input {name!r}: shape {list(array.shape)} does not match the model's {list(spec.shape)}", name
            )
        arrays[name] = array
    missing = [name for name in specs if name not in arrays]
    if missing:
        raise InvalidInputError(f"missing input {missing[0]!r}; the model's inputs are {', '.join(specs)}", missing[0])
    return arrays


def _wanted_outputs(declared: Mapping[str, TensorMeta], requested: Sequence[str] | None) -> list[str]:
    if requested is None:
        return list(declared)
    for name in requested:
        if name not in declared:
            raise InvalidInputError(f"unknown output {name!r}; the model's outputs are {', '.join(declared)}", name)
    return [name for name in declared if name in requested]
