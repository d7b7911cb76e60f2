"""The KServe v2 model table and tensor translation (v2 tensors <-> each service's native messages).

Every registered detector of a routed modality that has an adapter here is one v2 model, named
``<modality>-<detector>`` (``timeseries-comet``, ``vision-multi_ad``, ``graph-ego_diffusion``); its v2 *version* is the
model-store version (empty = latest). Tensors:

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
from polyad.graph.v1 import graph_pb2
from polyad.logs.v1 import logs_pb2
from polyad.timeseries.v1 import timeseries_pb2
from polyad.vision.v1 import vision_pb2
from services.core import registry
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError, ModelNotFoundError
from services.core.responses import RULES_BY_NAME

__all__ = [
    "ADAPTERS",
    "DATATYPES",
    "Adapter",
    "KServeModel",
    "TensorMeta",
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
    info_type: type[Message]  # the service's GetModelInfoRequest

    def info_request(self, model: common_pb2.ModelRef) -> Message:
        """The native ``GetModelInfoRequest`` for ``model``."""
        return self.info_type(model=model)

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


class SeriesAdapter(Adapter):
    """One series ``(T, C)`` (or ``(T,)``) per request → per-point scores, p-values and flags ``(T,)``."""

    modality = "timeseries"
    info_type = timeseries_pb2.GetModelInfoRequest

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        shape = list(info.input_shape) if info is not None else []
        channels = shape[1] if len(shape) == 2 and shape[1] > 0 else -1
        return (TensorMeta("series", "FP32", (-1, channels)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> timeseries_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        series = inputs["series"]
        if series.ndim not in (1, 2):
            raise InvalidInputError(f"input 'series': expected shape [T, C] or [T], got {list(series.shape)}", "series")
        return timeseries_pb2.DetectRequest(
            series=[timeseries_pb2.Series(id="series", values=from_numpy(series))], model=model, policy=policy
        )

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.timeseries
        result = answer.results[0]
        return answer.model, {
            "scores": to_numpy(result.scores),
            "p_values": to_numpy(result.decisions.p_values),
            "anomalous": to_numpy(result.decisions.anomalous),
        }


class ImageAdapter(Adapter):
    """RGB images ``(N, H, W, 3)`` uint8 → scores, p-values, flags ``(N,)`` and maps ``(N, H, W)``."""

    modality = "vision"
    info_type = vision_pb2.GetModelInfoRequest

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("images", "UINT8", (-1, -1, -1, 3)),)  # the service resizes to the model's size

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)), TensorMeta("anomaly_map", "FP32", (-1, -1, -1)))

    def request(self, inputs, model, policy, wanted) -> vision_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        images = inputs["images"]
        if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
            raise InvalidInputError(f"input 'images': expected shape [N, H, W, 3], got {list(images.shape)}", "images")
        return vision_pb2.DetectRequest(
            images=[vision_pb2.Image(id=str(i), pixels=from_numpy(image)) for i, image in enumerate(images)],
            model=model, policy=policy, omit_anomaly_map="anomaly_map" not in wanted,
        )

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.vision
        out = {
            "scores": np.array([r.score for r in answer.results], dtype=np.float32),
            "p_values": np.array([r.p_value for r in answer.results], dtype=np.float64),
            "anomalous": np.array([r.anomalous for r in answer.results], dtype=np.bool_),
        }
        if answer.results and answer.results[0].anomaly_map.ByteSize():
            out["anomaly_map"] = np.stack([to_numpy(r.anomaly_map) for r in answer.results])
        return answer.model, out


class GraphAdapter(Adapter):
    """One graph: node features ``(N, F)`` and edges ``(2, E)`` → per-node scores, p-values, flags ``(N,)``."""

    modality = "graph"
    info_type = graph_pb2.GetModelInfoRequest

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        shape = list(info.input_shape) if info is not None else []
        width = shape[1] if len(shape) == 2 and shape[1] > 0 else -1
        return (TensorMeta("node_features", "FP32", (-1, width)), TensorMeta("edge_index", "INT64", (2, -1)))

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("nodes", "INT64", (-1,)), TensorMeta("scores", "FP32", (-1,)),
                TensorMeta("p_values", "FP64", (-1,)), TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> graph_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        graph = graph_pb2.Graph(id="graph", node_features=from_numpy(inputs["node_features"]),
                                edge_index=from_numpy(inputs["edge_index"]))
        return graph_pb2.DetectRequest(graph=graph, model=model, policy=policy, omit_evidence=True)

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.graph
        return answer.model, {
            "nodes": to_numpy(answer.nodes).astype(np.int64, copy=False),
            "scores": to_numpy(answer.scores),
            "p_values": to_numpy(answer.decisions.p_values),
            "anomalous": to_numpy(answer.decisions.anomalous),
        }


class LogsAdapter(Adapter):
    """Sessions as strings (raw lines joined by newlines) ``(N,)`` → session scores, p-values, flags ``(N,)``."""

    modality = "logs"
    info_type = logs_pb2.GetModelInfoRequest

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        return (TensorMeta("sessions", BYTES, (-1,)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> logs_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        sessions = inputs["sessions"]
        if sessions.ndim != 1 or sessions.size == 0:
            raise InvalidInputError(f"input 'sessions': expected shape [N], N > 0, got {list(sessions.shape)}",
                                    "sessions")
        return logs_pb2.DetectRequest(
            sessions=[logs_pb2.Session(id=str(i), lines=text.split(b"\n")) for i, text in enumerate(sessions)],
            model=model, policy=policy,
        )

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.logs
        return answer.model, {
            "scores": np.array([r.score for r in answer.results], dtype=np.float32),
            "p_values": np.array([r.p_value for r in answer.results], dtype=np.float64),
            "anomalous": np.array([r.anomalous for r in answer.results], dtype=np.bool_),
        }


ADAPTERS: dict[str, Adapter] = {
    adapter.modality: adapter for adapter in (SeriesAdapter(), ImageAdapter(), GraphAdapter(), LogsAdapter())
}
"""Modalities spoken over KServe v2; adding one is an :class:`Adapter` and an entry here."""


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


def model_table(modalities: Iterable[str]) -> dict[str, KServeModel]:
    """Every v2 model of the routed ``modalities``: ``<modality>-<detector>`` per registered detector."""
    table: dict[str, KServeModel] = {}
    for modality in modalities:
        adapter = ADAPTERS.get(modality)
        for detector in registry.service_detectors(modality) if adapter is not None else ():
            name = f"{modality}-{detector}"
            table[name] = KServeModel(name, modality, detector, adapter)
    return table


def find_model(table: Mapping[str, KServeModel], name: str) -> KServeModel:
    """The model called ``name``; NOT_FOUND naming the known ones otherwise."""
    model = table.get(name)
    if model is None:
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {', '.join(sorted(table)) or 'none'}")
    return model
