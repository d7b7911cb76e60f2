"""The time-series modality at the gateway: REST endpoints (JSON arrays, CSV upload) and the KServe v2 adapter.

CSV uploads travel to the service as raw bytes (``Series.csv``); the service parses them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import Adapter, TensorMeta
from gateway.modalities.shared import read_upload
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.timeseries.v1 import timeseries_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "TimeSeriesDetectIn", "TimeSeriesDetectOut", "add_routes", "timeseries_json"]


class SeriesIn(schemas.StrictIn):
    id: str = Field("", description="Echoed in the result; the series index when empty.")
    values: list[list[float]] | list[float] = Field(
        description="T rows of C channel values (multivariate), or T plain values (univariate).",
        examples=[[0.1, 0.2, 0.15, 3.5, 0.2]],
    )


class TimeSeriesDetectIn(schemas.StrictIn):
    series: list[SeriesIn] = Field(min_length=1, description="The series to score, one result each.")
    policy: schemas.PolicyIn = Field(default_factory=schemas.PolicyIn, description="How p-values become decisions.")
    model: schemas.ModelRef = Field(default_factory=schemas.ModelRef, description="Which model scores the batch.")


class RegionOut(BaseModel):
    start: int = Field(description="First flagged index.")
    end: int = Field(description="One past the last flagged index.")
    peak_score: float = Field(description="Highest score inside the region.")
    min_p_value: float = Field(description="Smallest p-value inside the region.")


class SeriesResultOut(BaseModel):
    id: str = Field(description="The request's series id (or its index).")
    scores: list[float | None] = Field(description="Raw per-point scores, higher = more anomalous.")
    p_values: list[float | None] = Field(description="Conformal p-value per point.")
    anomalous: list[bool] = Field(description="Per-point decision under the policy.")
    regions: list[RegionOut] = Field(description="Contiguous flagged stretches.")
    max_score: float | None = Field(description="Highest point score: the series-level score.")


class TimeSeriesDetectOut(BaseModel):
    service: str = Field(description="The service that answered.")
    model: schemas.ModelRef = Field(description="The model version that scored the batch.")
    results: list[SeriesResultOut] = Field(description="One result per series, in request order.")


CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV: optional header, one column per channel"
                            "; timestamp/time/date first column and label/is_anomaly columns are ignored.",
                        }
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
def series_arrays(body: TimeSeriesDetectIn) -> list[tuple[str, np.ndarray]]:
    """(id, float32 array) per JSON series; InvalidInputError when rows differ in length."""
    out = []
    for i, series in enumerate(body.series):
        try:
            out.append((series.id, np.asarray(series.values, dtype=np.float32)))
        except ValueError:
            raise InvalidInputError(f"series[{i}].values: rows must all have the same length") from None
    return out


def timeseries_request(
    series: Sequence[tuple[str, np.ndarray]], policy: schemas.PolicyIn, model: schemas.ModelRef
) -> timeseries_pb2.DetectRequest:
    """The time-series service request for (id, values) pairs, a policy and a model."""
    return timeseries_pb2.DetectRequest(
        series=[timeseries_pb2.Series(id=name, values=from_numpy(values)) for name, values in series],
        model=common_pb2.ModelRef(detector=model.detector, version=model.version),
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[policy.rule], alpha=policy.alpha),
    )


def timeseries_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON of a gateway response carrying a time-series answer (shape: TimeSeriesDetectOut)."""
    answer = response.timeseries
    return {
        "service": response.service,
        "model": {"detector": answer.model.detector, "version": answer.model.version},
        "results": [
            {
                "id": r.id,
                "scores": schemas.floats(r.scores, f"results[{i}].scores"),
                "p_values": schemas.floats(r.decisions.p_values, f"results[{i}].p_values"),
                "anomalous": schemas.floats(r.decisions.anomalous, f"results[{i}].anomalous"),
                "regions": [
                    {"start": g.start, "end": g.end, "peak_score": g.peak_score, "min_p_value": g.min_p_value}
                    for g in r.regions
                ],
                "max_score": r.max_score if math.isfinite(r.max_score) else None,
            }
            for i, r in enumerate(answer.results)
        ],
    }


async def _read_csv(request: Request, limit: int) -> tuple[bytes, str]:
    """The CSV bytes and a series id (the file name, else ``series``) from a multipart ``file`` or a raw body."""
    data, name = await read_upload(request, limit, "CSV upload exceeds the limit of {limit} bytes",
                                   "the CSV upload is empty; expected one row per time step", text=True)
    return data, (name or "series").rsplit("/", 1)[-1].removesuffix(".csv")


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """``POST /v1/timeseries/detect`` (JSON arrays) and ``POST /v1/timeseries/detect/csv`` (a CSV file)."""

    @app.post(
        "/v1/timeseries/detect",
        tags=["timeseries"],
        response_model=TimeSeriesDetectOut,
        summary="Score time series given as JSON arrays.",
        responses=schemas.ERROR_RESPONSES,
    )
    async def timeseries_detect(body: TimeSeriesDetectIn, timeout: schemas.Timeout = None) -> JSONResponse:
        request = timeseries_request(series_arrays(body), body.policy, body.model)
        response = await dataplane.forward(router.get("timeseries"), request, timeout)
        return JSONResponse(timeseries_json(response))

    @app.post(
        "/v1/timeseries/detect/csv",
        tags=["timeseries"],
        response_model=TimeSeriesDetectOut,
        summary="Score one series uploaded as CSV (multipart field `file`, or a text/csv body).",
        openapi_extra=CSV_BODY,
        responses=schemas.ERROR_RESPONSES,
    )
    async def timeseries_detect_csv(
        request: Request,
        rule: Annotated[schemas.Rule, Query(description="Decision rule.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        id: Annotated[str | None, Query(description="Series id; defaults to the file name.")] = None,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: schemas.Timeout = None,
    ) -> JSONResponse:
        route = router.get("timeseries")  # fail fast when not routed, before reading the upload
        data, name = await _read_csv(request, dataplane.settings.max_upload_bytes)
        message = timeseries_pb2.DetectRequest(
            series=[timeseries_pb2.Series(id=id if id is not None else name, csv=data)],
            model=common_pb2.ModelRef(detector=detector, version=version),
            policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
        )
        return JSONResponse(timeseries_json(await dataplane.forward(route, message, timeout)))


class SeriesAdapter(Adapter):
    """One series ``(T, C)`` (or ``(T,)``) per request → per-point scores, p-values and flags ``(T,)``."""

    modality = "timeseries"

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


ADAPTER = SeriesAdapter()
