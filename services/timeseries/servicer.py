"""``polyad.timeseries.v1.TimeSeriesService``: decode → backend → encode, nothing more."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from grpc import aio

from polyad.timeseries.v1 import timeseries_pb2 as pb
from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from services.core.calibration import decide_recent
from services.core.codecs import from_numpy
from services.core.contract import StreamState
from services.core.errors import InvalidInputError
from services.core.models import LoadedModel, ModelManager
from services.core.responses import MAX_WINDOW, decide_scores, decisions_proto, policy_from_proto, regions_proto
from services.core.servicing import ModelInfoMixin
from services.core.training import chronological_split, fit_options
from services.timeseries.codec import decode_series
from services.timeseries.config import TimeSeriesSettings

__all__ = ["TimeSeriesServicer"]


@dataclass
class _Stream:
    """One stream's state inside a StreamDetect call."""

    model: LoadedModel
    state: StreamState | None = None
    offset: int = 0
    recent_p: deque = field(default_factory=lambda: deque(maxlen=MAX_WINDOW))


class TimeSeriesServicer(ModelInfoMixin, pb_grpc.TimeSeriesServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    model_info_response = pb.GetModelInfoResponse

    def __init__(self, models: ModelManager, settings: TimeSeriesSettings) -> None:
        self.models = models
        self.settings = settings

    def _decode(self, tensor, field_name: str, model: LoadedModel | None) -> np.ndarray:  # type: ignore[no-untyped-def]
        s = self.settings
        return decode_series(
            tensor, field_name, s.max_points, s.max_request_bytes, model.metadata if model else None, s.max_channels
        )

    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        if not request.series:
            raise InvalidInputError("series is empty; expected at least one series")
        if len(request.series) > self.settings.max_series_per_request:
            raise InvalidInputError(
                f"{len(request.series)} series in one request; the limit is {self.settings.max_series_per_request}"
            )
        rule, alpha, _ = policy_from_proto(request.policy)
        model = await self.models.get(request.model)
        arrays = [self._decode(s.values, f"series[{i}].values", model) for i, s in enumerate(request.series)]
        response = pb.DetectResponse()
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        for index, (series, values) in enumerate(zip(request.series, arrays, strict=True)):
            scores = await model.backend.score(values)
            p_values, decision = decide_scores(model.calibrator, scores, rule, alpha)
            response.results.append(
                pb.SeriesResult(
                    id=series.id or str(index),
                    scores=from_numpy(scores),
                    decisions=decisions_proto(p_values, decision),
                    regions=regions_proto(decision.anomalous, scores, p_values),
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
                if len(streams) >= self.settings.max_streams_per_call:
                    raise InvalidInputError(f"more than {self.settings.max_streams_per_call} streams in one call")
                stream = streams[request.stream_id] = _Stream(await self.models.get(request.model))
            rule, alpha, window = policy_from_proto(request.policy, self.settings.stream_fdr_window)
            points = self._decode(request.points, f"stream {request.stream_id!r} points", stream.model)
            scores, stream.state = await stream.model.backend.stream_step(points, stream.state, request.adapt)
            p_values = stream.model.calibrator.p_values(scores)
            stream.recent_p.extend(p_values.tolist())
            context_p = np.fromiter(stream.recent_p, dtype=np.float64)[-max(window, len(p_values)):]
            decision = decide_recent(context_p, len(p_values), rule, alpha)
            yield pb.StreamDetectResponse(
                stream_id=request.stream_id,
                offset=stream.offset,
                scores=from_numpy(scores),
                decisions=decisions_proto(p_values, decision),
            )
            stream.offset += len(scores)
            if request.close:
                del streams[request.stream_id]

    async def Fit(self, request: pb.FitRequest, context: aio.ServicerContext) -> pb.FitResponse:
        values = self._decode(request.values, "values", None)
        overrides, fraction = fit_options(request.config_json, request.calibration_fraction)
        if len(values) < self.settings.min_fit_points:
            raise InvalidInputError(
                f"values has {len(values)} time steps; Fit needs at least {self.settings.min_fit_points}"
            )
        train, calibration = chronological_split(values, fraction)
        model = await self.models.fit(request.detector, train, calibration, overrides)
        return pb.FitResponse(model=model.info(self.settings.backend.kind))


