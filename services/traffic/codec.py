"""Protobuf ↔ domain objects of the traffic service (snapshots, graph, flagged cells, forecasts)."""

from __future__ import annotations

import numpy as np

from polyad.common.v1 import common_pb2
from polyad.traffic.v1 import traffic_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.traffic.batch import SensorBatch

__all__ = ["decode_snapshots", "flagged_cells", "forecast_proto", "graph_proto", "tensor"]


def tensor(message: common_pb2.Tensor, field: str, dtypes: tuple[str, ...]) -> np.ndarray:
    """A request tensor as numpy; a bad encoding or dtype is an input error naming ``field``."""
    try:
        values = to_numpy(message)
    except (ValueError, TypeError) as error:
        raise InvalidInputError(f"{field}: {error}", field) from error
    if values.dtype.kind not in dtypes:
        raise InvalidInputError(f"{field}: unexpected dtype {values.dtype}", field)
    return values


def decode_snapshots(message: pb.Snapshots, context: common_pb2.Tensor | None = None, coverage: float = 0.0
                     ) -> SensorBatch:
    """A :class:`SensorBatch` from ``Snapshots`` (shapes are checked by ``validate_batch`` afterwards)."""
    if not message.HasField("readings"):
        raise InvalidInputError("snapshots.readings is required", "snapshots.readings")
    if not message.HasField("times"):
        raise InvalidInputError("snapshots.times is required", "snapshots.times")
    readings = tensor(message.readings, "snapshots.readings", "fiu").astype(np.float32)
    times = tensor(message.times, "snapshots.times", "fiu").astype(np.float64)
    missing = tensor(message.missing, "snapshots.missing", "bui").astype(bool) if message.HasField("missing") \
        else None
    ctx = tensor(context, "context", "fiu").astype(np.float32) if context is not None and context.ListFields() \
        else None
    return SensorBatch(readings, times, missing=missing, context=ctx, coverage=coverage or 0.9)


def graph_proto(sensors: list[str], features: list[str], adjacency: np.ndarray | None) -> pb.Graph:
    """The model's road graph."""
    graph = pb.Graph(sensors=sensors, features=features)
    if adjacency is not None:
        graph.adjacency.CopyFrom(from_numpy(adjacency.astype(bool)))
    return graph


def forecast_proto(mean: np.ndarray, lower: np.ndarray, upper: np.ndarray, nominal: float,
                   coverage: np.ndarray) -> pb.Forecast:
    """``Forecast`` of ``(T, N, F)`` arrays and per-feature coverage ``(F,)``."""
    return pb.Forecast(mean=from_numpy(mean), lower=from_numpy(lower), upper=from_numpy(upper),
                       nominal_coverage=nominal, coverage=[float(c) for c in coverage])


def flagged_cells(flags: np.ndarray, scores: np.ndarray, p_values: np.ndarray, times: np.ndarray,
                  sensors: list[str], propagation: np.ndarray | None, limit: int) -> list[pb.FlaggedCell]:
    """Flagged cells of ``(T, N)`` flags/scores/p-values, most significant first, at most ``limit``."""
    t_idx, s_idx = np.nonzero(flags)
    order = np.argsort(p_values[t_idx, s_idx], kind="stable")[:limit]
    return [pb.FlaggedCell(time_index=int(t_idx[k]), time=float(times[t_idx[k]]), sensor=sensors[s_idx[k]],
                           score=float(scores[t_idx[k], s_idx[k]]), p_value=float(p_values[t_idx[k], s_idx[k]]),
                           propagation=float(propagation[t_idx[k], s_idx[k]]) if propagation is not None else 0.0)
            for k in order]
