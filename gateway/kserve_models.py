"""The KServe v2 model table and tensor translation (v2 tensors <-> each service's native messages).

Every detector a routed service reports it can load (``ModelInfo.detectors`` from its ``GetModelInfo``)
is one v2 model when the modality's gateway module declares an adapter (``gateway/modalities/<name>.py``),
named ``<modality>-<detector>`` (``timeseries-comet``, ``vision-multi_ad``, ``graph-ego_diffusion``); its v2
*version* is the model-store version (empty = latest). Tensors of the built-in adapters:

==================  =====================================  ===========================================
model               inputs                                 outputs
==================  =====================================  ===========================================
timeseries-<det>    ``series`` FP32 ``[-1, C]`` (T, C)      ``scores`` FP32 ``[-1]`` (T,), ``p_values``
                                                           FP64 ``[-1]``, ``anomalous`` BOOL ``[-1]``
vision-<det>        ``images`` UINT8 ``[-1, -1, -1, 3]``   ``scores`` FP32 ``[-1]`` (N,), ``p_values``
                    (N, H, W, 3) RGB                       FP64 ``[-1]``, ``anomalous`` BOOL ``[-1]``,
                                                           ``anomaly_map`` FP32 ``[-1, -1, -1]`` (N, H, W)
graph-<det>         ``node_features`` FP32 ``[-1, F]``,    ``nodes`` INT64, ``scores`` FP32, ``p_values``
                    ``edge_index`` INT64 ``[2, -1]``       FP64, ``anomalous`` BOOL, each ``[-1]`` (N,)
logs-<det>          ``sessions`` BYTES ``[-1]`` (N,): raw  ``scores`` FP32, ``p_values`` FP64, ``anomalous``
                    lines joined by newlines               BOOL, each ``[-1]`` (N,)
==================  =====================================  ===========================================

Request parameters ``rule`` (``alpha``, ``bh``, ``by``) and ``alpha`` choose the decision policy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf.message import Message

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from services.core.errors import InvalidInputError, ModelNotFoundError
from services.core.responses import RULES_BY_NAME

__all__ = [
    "DATATYPES",
    "Adapter",
    "KServeModel",
    "TensorMeta",
    "adapters",
    "find_model",
    "model_table",
    "policy_from_parameters",
    "tensor_from_bytes",
    "tensor_from_list",
]

DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}
"""KServe v2 datatype names → numpy dtypes; ``BYTES`` (strings, inputs only) is decoded by :func:`_bytes_tensor`."""

BYTES = "BYTES"


@dataclass(frozen=True, slots=True)
class TensorMeta:
    """A v2 tensor's name, datatype and shape (``-1`` marks a free axis)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def json(self) -> dict[str, Any]:
        """The v2 metadata JSON of this tensor."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def _shape(shape: Iterable[int], name: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise InvalidInputError(f"input {name!r}: shape {list(dims)} has a negative size", name)
    return dims


def _bytes_tensor(name: str, dims: tuple[int, ...], items: list[bytes]) -> np.ndarray:
    """An object array of ``bytes`` with shape ``dims``; the element count is checked."""
    if len(items) != math.prod(dims):
        raise InvalidInputError(f"input {name!r}: shape {list(dims)} needs {math.prod(dims)} strings, got {len(items)}",
                                name)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(dims)


def _split_bytes(name: str, raw: bytes) -> list[bytes]:
    """The v2 binary BYTES layout: each element is a 4-byte little-endian length, then that many bytes."""
    items, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInputError(f"input {name!r}: BYTES data ends inside an element's 4-byte length", name)
        size = int.from_bytes(raw[offset : offset + 4], "little")
        if offset + 4 + size > len(raw):
            raise InvalidInputError(f"input {name!r}: BYTES element of {size} bytes runs past the data", name)
        items.append(bytes(raw[offset + 4 : offset + 4 + size]))
        offset += 4 + size
    return items


def _dtype(datatype: str, name: str) -> np.dtype:
    dtype = DATATYPES.get(datatype)
    if dtype is None:
        raise InvalidInputError(
            f"input {name!r}: datatype {datatype!r} is not supported; expected one of {', '.join(DATATYPES)}", name
        )
    return dtype


def tensor_from_bytes(name: str, datatype: str, shape: Iterable[int], raw: bytes) -> np.ndarray:
    """A v2 tensor from its raw little-endian, row-major bytes; sizes are checked."""
    if datatype == BYTES:
        return _bytes_tensor(name, _shape(shape, name), _split_bytes(name, raw))
    dims, dtype = _shape(shape, name), _dtype(datatype, name)
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        raise InvalidInputError(
            f"input {name!r}: shape {list(dims)} of {datatype} needs {expected} bytes, got {len(raw)}", name
        )
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(dims)


def tensor_from_list(name: str, datatype: str, shape: Iterable[int], data: Any) -> np.ndarray:
    """A v2 tensor from JSON data (flat or nested, row-major) or typed protobuf contents."""
    if datatype == BYTES:
        flat = np.asarray(data, dtype=object).reshape(-1)
        if not all(isinstance(item, str | bytes) for item in flat):
            raise InvalidInputError(f"input {name!r}: BYTES data must be strings", name)
        items = [item.encode() if isinstance(item, str) else item for item in flat]
        return _bytes_tensor(name, _shape(shape, name), items)
    dims, dtype = _shape(shape, name), _dtype(datatype, name)
    try:
        flat = np.asarray(data, dtype=dtype).reshape(-1)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"input {name!r}: data is not a list of {datatype} values ({error})", name) from None
    if flat.size != math.prod(dims):
        raise InvalidInputError(
            f"input {name!r}: shape {list(dims)} needs {math.prod(dims)} values, got {flat.size}", name
        )
    return flat.reshape(dims)


def policy_from_parameters(parameters: Mapping[str, Any]) -> common_pb2.DecisionPolicy:
    """The decision policy from request parameters ``rule`` and ``alpha`` (defaults: alpha, 0.01)."""
    rule = str(parameters.get("rule", "alpha"))
    if rule not in RULES_BY_NAME:
        raise InvalidInputError(f"parameter 'rule' must be one of {', '.join(RULES_BY_NAME)}, got {rule!r}", "rule")
    try:
        alpha = float(parameters.get("alpha", 0.0))
    except (TypeError, ValueError):
        raise InvalidInputError(f"parameter 'alpha' must be a number, got {parameters['alpha']!r}", "alpha") from None
    return common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha)


class Adapter(ABC):
    """One modality's v2 tensors and their translation to and from its native Detect messages."""

    modality: str

    @abstractmethod
    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        """Input tensors, refined by the stored model's info when known."""

    @abstractmethod
    def outputs(self) -> tuple[TensorMeta, ...]:
        """Output tensors, in response order."""

    @abstractmethod
    def request(
        self, inputs: Mapping[str, np.ndarray], model: common_pb2.ModelRef,
        policy: common_pb2.DecisionPolicy, wanted: frozenset[str],
    ) -> Message:
        """The native request message for checked v2 inputs."""

    @abstractmethod
    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        """The answering model and every output array from the gateway-wrapped native answer."""


def adapters() -> dict[str, Adapter]:
    """The KServe v2 adapter of every modality whose gateway module declares one (``ADAPTER``)."""
    from gateway.modalities import modality_modules

    return {name: module.ADAPTER for name, module in modality_modules().items() if hasattr(module, "ADAPTER")}


@dataclass(frozen=True, slots=True)
class KServeModel:
    """A v2 model: one detector of one routed modality."""

    name: str
    modality: str
    detector: str
    adapter: Adapter

    def ref(self, version: str = "") -> common_pb2.ModelRef:
        """The native ``ModelRef`` of this model at ``version`` (empty = latest)."""
        return common_pb2.ModelRef(detector=self.detector, version=version)


def model_table(detectors: Mapping[str, Iterable[str]]) -> dict[str, KServeModel]:
    """Every v2 model ``<modality>-<detector>`` of the given detectors per modality (those with an adapter)."""
    known = adapters()
    table: dict[str, KServeModel] = {}
    for modality, names in detectors.items():
        adapter = known.get(modality)
        for detector in names if adapter is not None else ():
            name = f"{modality}-{detector}"
            table[name] = KServeModel(name, modality, detector, adapter)
    return table


def find_model(table: Mapping[str, KServeModel], name: str) -> KServeModel:
    """The model called ``name``; NOT_FOUND naming the known ones otherwise."""
    model = table.get(name)
    if model is None:
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {', '.join(sorted(table)) or 'none'}")
    return model
