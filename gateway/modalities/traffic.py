"""REST routes and KServe v2 adapter of the traffic modality: sensor snapshots as JSON arrays or tensors.

The gateway forwards ``polyad.traffic.v1.DetectRequest`` messages; the service checks shapes against the
model's road graph, so this module knows nothing of sensors beyond "a (T, N, F) array".
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import Adapter, TensorMeta
from gateway.modalities.shared import unpack_answer
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.traffic.v1 import traffic_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "TrafficDetectIn", "TrafficDetectOut", "add_routes", "traffic_json"]

MODALITY = "traffic"


class TrafficDetectIn(schemas.StrictIn):
    """A window of sensor snapshots in the model's sensor and feature order."""

    readings: list[list[list[float]]] = Field(description="T snapshots x N sensors x F features.")
    times: list[float] = Field(description="T snapshot times in seconds, strictly increasing.")
    missing: list[list[bool]] | None = Field(None, description="Optional T x N marks of sensors without a reading "
                                                               "(their values are ignored, never flagged).")
    context: list[list[list[float]]] | None = Field(None, description="Optional C x N x F readings just before.")
    coverage: float = Field(0.9, gt=0, lt=1, description="Nominal coverage of the prediction intervals.")
    explain: bool = Field(False, description="Return forecasts, intervals and residual propagation.")
    policy: schemas.PolicyIn = Field(default_factory=lambda: schemas.PolicyIn(rule="by", alpha=0.05),
                                     description="Decision rule over all cells (default BY at 0.05).")
    model: schemas.ModelRef = Field(default_factory=schemas.ModelRef, description="Which model scores the window.")


class FlaggedOut(BaseModel):
    """One flagged (time, sensor) cell."""

    time_index: int
    time: float
    sensor: str
    score: float
    p_value: float
    propagation: float = Field(description="Anomalous residual flow arriving from upstream sensors.")


class TrafficDetectOut(BaseModel):
    """The traffic service's answer for a window."""

    service: str
    model: dict[str, str]
    rule: str
    p_value_threshold: float
    scores: list[list[float]] = Field(description="T x N raw cell scores.")
    flagged: list[FlaggedOut]
    forecast: dict[str, Any] | None = Field(None, description="mean / lower / upper (T x N x F), coverage per "
                                                              "feature (with explain).")


def traffic_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON body of a traffic answer (shape: TrafficDetectOut)."""
    answer = unpack_answer(response, pb.DetectResponse())
    forecast = None
    if answer.HasField("forecast"):
        f = answer.forecast
        forecast = {"mean": to_numpy(f.mean).tolist(), "lower": to_numpy(f.lower).tolist(),
                    "upper": to_numpy(f.upper).tolist(), "nominal_coverage": f.nominal_coverage,
                    "coverage": list(f.coverage)}
    return {"service": response.service,
            "model": {"detector": answer.model.detector, "version": answer.model.version},
            "rule": common_pb2.DecisionRule.Name(answer.decisions.rule),
            "p_value_threshold": answer.decisions.p_value_threshold,
            "scores": to_numpy(answer.scores).astype(float).tolist(),
            "flagged": [{"time_index": c.time_index, "time": c.time, "sensor": c.sensor, "score": c.score,
                         "p_value": c.p_value, "propagation": c.propagation} for c in answer.flagged],
            "forecast": forecast}


def _array(values: Any, field: str, dtype: type) -> np.ndarray:
    try:
        return np.asarray(values, dtype=dtype)
    except ValueError:
        raise InvalidInputError(f"{field}: rows must all have the same length", field) from None


def detect_request(body: TrafficDetectIn) -> pb.DetectRequest:
    """The service request for a JSON body."""
    snapshots = pb.Snapshots(readings=from_numpy(_array(body.readings, "readings", np.float32)),
                             times=from_numpy(_array(body.times, "times", np.float64)))
    if body.missing is not None:
        snapshots.missing.CopyFrom(from_numpy(_array(body.missing, "missing", bool)))
    message = pb.DetectRequest(snapshots=snapshots, coverage=body.coverage, explain=body.explain,
                               model=common_pb2.ModelRef(detector=body.model.detector, version=body.model.version),
                               policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[body.policy.rule],
                                                                alpha=body.policy.alpha))
    if body.context is not None:
        message.context.CopyFrom(from_numpy(_array(body.context, "context", np.float32)))
    return message


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/traffic/detect/snapshots`` (JSON arrays)."""

    @app.post("/v1/traffic/detect/snapshots", tags=[MODALITY], response_model=TrafficDetectOut,
              summary="Score a window of road-sensor snapshots: cell scores, BY/BH/alpha flags, forecasts and "
                      "conformal intervals.", responses=schemas.ERROR_RESPONSES)
    async def traffic_detect_snapshots(
        body: TrafficDetectIn,
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get(MODALITY)
        return JSONResponse(traffic_json(await dataplane.forward(route, detect_request(body), timeout)))


class TrafficAdapter(Adapter):
    """``readings`` FP32 ``[T, N, F]`` and ``times`` FP64 ``[T]`` → cell ``scores`` FP32 ``[T, N]``, ``p_values``
    FP64 and ``anomalous`` BOOL ``[T * N]`` (time-major), forecast ``mean`` / ``lower`` / ``upper`` FP32
    ``[T, N, F]``."""

    modality = MODALITY

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        shape = tuple(info.input_shape) if info is not None and len(info.input_shape) == 3 else (-1, -1, -1)
        return (TensorMeta("readings", "FP32", shape), TensorMeta("times", "FP64", (-1,)))

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1, -1)), TensorMeta("p_values", "FP64", (-1,)),
                TensorMeta("anomalous", "BOOL", (-1,)), TensorMeta("mean", "FP32", (-1, -1, -1)),
                TensorMeta("lower", "FP32", (-1, -1, -1)), TensorMeta("upper", "FP32", (-1, -1, -1)))

    def request(self, inputs, model, policy, wanted) -> pb.DetectRequest:  # type: ignore[no-untyped-def]
        readings, times = inputs["readings"], inputs["times"]
        if readings.ndim != 3 or readings.shape[0] == 0:
            raise InvalidInputError(f"input 'readings': expected shape [T, N, F], got {list(readings.shape)}",
                                    "readings")
        if times.shape != (readings.shape[0],):
            raise InvalidInputError(f"input 'times': expected shape [{readings.shape[0]}], got {list(times.shape)}",
                                    "times")
        explain = bool(wanted & {"mean", "lower", "upper"}) or not wanted
        return pb.DetectRequest(snapshots=pb.Snapshots(readings=from_numpy(readings.astype(np.float32)),
                                                       times=from_numpy(times.astype(np.float64))),
                                model=model, policy=policy, explain=explain)

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = unpack_answer(response, pb.DetectResponse())
        empty = np.zeros((0, 0, 0), np.float32)
        f = answer.forecast
        return answer.model, {
            "scores": to_numpy(answer.scores), "p_values": to_numpy(answer.decisions.p_values),
            "anomalous": to_numpy(answer.decisions.anomalous),
            "mean": to_numpy(f.mean) if answer.HasField("forecast") else empty,
            "lower": to_numpy(f.lower) if answer.HasField("forecast") else empty,
            "upper": to_numpy(f.upper) if answer.HasField("forecast") else empty,
        }


ADAPTER = TrafficAdapter()
