"""``polyad.timeseries.v1.TimeSeriesService``: decode → backend → encode, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from grpc import aio

from polyad.timeseries.v1 import timeseries_pb2 as pb
from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.contract import StreamState
from services.core.errors import InvalidInputError, LimitExceededError
from services.core.models import LoadedModel
from services.core.responses import regions_proto
from services.core.servicing import DomainServicer, RecentPValues
from services.core.training import chronological_split
from services.timeseries.codec import check_min_length, check_series, decode_series
from services.timeseries.config import TimeSeriesSettings
from services.timeseries.series_csv import parse_series_csv

__all__ = ["TimeSeriesServicer"]


@dataclass
class _Stream:
    """One stream's state inside a StreamDetect call."""

    model: LoadedModel
    state: StreamState | None = None
    offset: int = 0
    recent: RecentPValues = field(default_factory=RecentPValues)


class TimeSeriesServicer(DomainServicer, pb_grpc.TimeSeriesServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: TimeSeriesSettings

    def _decode(self, tensor, field_name: str, model: LoadedModel | None) -> np.ndarray:  # type: ignore[no-untyped-def]
        s = self.settings
        return decode_series(
            tensor, field_name, s.max_points, s.max_request_bytes, model.metadata if model else None, s.max_channels
        )

    def _series(self, series: pb.Series, index: int, model: LoadedModel) -> np.ndarray:
        """One request series: its ``values`` tensor or its uploaded ``csv`` bytes, checked against the model."""
        if series.csv:
            if series.HasField("values"):
                raise InvalidInputError(f"series[{index}]: set either values or csv, not both", f"series[{index}]")
            if len(series.csv) > self.settings.max_request_bytes:
                raise LimitExceededError(f"series[{index}].csv exceeds {self.settings.max_request_bytes} bytes",
                                         f"series[{index}].csv")
            field_name, values = f"series[{index}].csv", parse_series_csv(series.csv)
            values = self._checked(values, field_name, model)
        else:
            field_name = f"series[{index}].values"
            values = self._decode(series.values, field_name, model)
        return check_min_length(values, field_name, model.metadata)

    def _checked(self, values: np.ndarray, field_name: str, model: LoadedModel) -> np.ndarray:
        s = self.settings
        return check_series(values, field_name, s.max_points, model.metadata, s.max_channels)

    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        if not request.series:
            raise InvalidInputError("series is empty; expected at least one series")
        if len(request.series) > self.settings.max_series_per_request:
            raise InvalidInputError(
                f"{len(request.series)} series in one request; the limit is {self.settings.max_series_per_request}"
            )
        model = await self.models.get(request.model)
        arrays = [self._series(s, i, model) for i, s in enumerate(request.series)]
        response = pb.DetectResponse()
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        for index, (series, values) in enumerate(zip(request.series, arrays, strict=True)):
            scores = await model.backend.score(values)
            decided = self.decide(model, scores, request.policy)
            response.results.append(
                pb.SeriesResult(
                    id=series.id or str(index),
                    scores=from_numpy(scores),
                    decisions=decided.proto(),
                    regions=regions_proto(decided.decision.anomalous, scores, decided.p_values),
                    max_score=float(scores.max()),
                )
            )
        return response

    async def StreamDetect(
        self, requests: AsyncIterator[pb.StreamDetectRequest], context: aio.ServicerContext
    ) -> AsyncIterator[pb.StreamDetectResponse]:
        streams: dict[str, _Stream] = {}
        async for request in requests:
            stream = streams.get(request.stream_id)
            if stream is None:
                self.check_stream_room(len(streams), self.settings.max_streams_per_call)
                stream = streams[request.stream_id] = _Stream(await self.models.get(request.model))
            points = self._decode(request.points, f"stream {request.stream_id!r} points", stream.model)
            scores, stream.state = await stream.model.backend.stream_step(points, stream.state, request.adapt)
            p_values = stream.model.calibrator.stream_p_values(scores)
            decided = stream.recent.decide(p_values, request.policy, self.settings.stream_fdr_window)
            yield pb.StreamDetectResponse(
                stream_id=request.stream_id, offset=stream.offset, scores=from_numpy(scores), decisions=decided.proto()
            )
            stream.offset += len(scores)
            if request.close:
                del streams[request.stream_id]

    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        values = self._decode(request.values, "values", None)
        if len(values) < self.settings.min_fit_points:
            raise InvalidInputError(
                f"values has {len(values)} time steps; Fit needs at least {self.settings.min_fit_points}"
            )
        return chronological_split(values, fraction)
