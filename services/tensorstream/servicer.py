"""``polyad.tensorstream.v1.TensorStreamService``: decode → backend → encode, nothing more.

Event p-values are conformal against held-out normal events' scores (the model's calibrator); window
p-values combine the window's event p-values with Simes' test (:mod:`services.tensorstream.window_pvalues`).
The request's decision rule applies to event p-values and to window p-values separately.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from grpc import aio

from polyad.common.v1 import common_pb2
from polyad.tensorstream.v1 import tensorstream_pb2 as pb
from polyad.tensorstream.v1 import tensorstream_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.contract import StreamState
from services.core.errors import InvalidInputError, public_message
from services.core.models import LoadedModel
from services.core.servicing import DomainServicer, RecentPValues
from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.config import TensorStreamSettings
from services.tensorstream.events_proto import (
    decode_events,
    model_schema,
    schema_from_proto,
    schema_proto,
    windows_proto,
)
from services.tensorstream.stream_io import split_outputs, with_flush
from services.tensorstream.validation import validate_events
from services.tensorstream.window_pvalues import WindowPValues, event_windows, window_p_values

__all__ = ["TensorStreamServicer"]


@dataclass
class _Stream:
    """One stream of a StreamDetect call: model, detector state, last time, recent p-values."""

    model: LoadedModel
    schema: EventSchema
    window_seconds: float
    tolerance: float
    windows: WindowPValues
    state: StreamState | None = None
    offset: int = 0
    last_time: float = -np.inf
    events: RecentPValues = field(default_factory=RecentPValues)
    window_recent: RecentPValues = field(default_factory=RecentPValues)


def _config(model: LoadedModel) -> tuple[float, float]:
    """(window seconds, time tolerance) of a model."""
    config = model.metadata.config
    return float(config.get("window_seconds", 3600.0)), float(config.get("time_tolerance", 60.0))


class TensorStreamServicer(DomainServicer, pb_grpc.TensorStreamServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: TensorStreamSettings

    def _events(self, events: pb.Events, schema: EventSchema, tolerance: float, last_time: float = -np.inf,
                field_name: str = "events") -> EventBatch:
        s = self.settings
        batch = decode_events(events, schema, field_name, s.max_events, s.max_jsonl_bytes)
        if len(batch) == 0:
            raise InvalidInputError(f"{field_name} is empty; expected at least one event", field_name)
        return validate_events(batch, schema, tolerance, last_time, s.max_events)

    # -- Detect ---------------------------------------------------------------------------
    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        model = await self.models.get(request.model)
        width, tolerance = _config(model)
        batch = self._events(request.events, model_schema(model.metadata), tolerance)
        scores, evidence = await model.backend.score_and_explain(batch)
        decided = self.decide(model, scores, request.policy)
        windows = evidence.windows
        window_p = window_p_values(decided.p_values, event_windows(batch.times, width), windows.index)
        window_decided = self.decide_p_values(window_p, request.policy)
        response = pb.DetectResponse(scores=from_numpy(scores), decisions=decided.proto(),
                                     windows=windows_proto(windows, width, window_p, window_decided.decision.anomalous,
                                                           window_decided.proto()))
        if request.explain:
            response.evidence.CopyFrom(pb.EventEvidence(component=from_numpy(evidence.component.astype(np.int64)),
                                                        attribute_nll=from_numpy(evidence.attribute_nll),
                                                        attributes=list(evidence.attributes)))
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    # -- StreamDetect ---------------------------------------------------------------------
    async def StreamDetect(self, requests: AsyncIterator[pb.StreamDetectRequest], context: aio.ServicerContext
                           ) -> AsyncIterator[pb.StreamDetectResponse]:
        streams: dict[str, _Stream] = {}
        async for request in requests:
            try:
                response = await self._stream_message(streams, request)
            except InvalidInputError as error:  # the stream stays open; this message is rejected
                response = pb.StreamDetectResponse(
                    stream_id=request.stream_id,
                    error=common_pb2.ErrorDetail(field=error.field, reason=public_message(error)))
                stream = streams.get(request.stream_id)
                response.offset = stream.offset if stream is not None else 0
            yield response

    async def _open(self, streams: dict[str, _Stream], request: pb.StreamDetectRequest) -> _Stream:
        stream = streams.get(request.stream_id)
        if stream is not None:
            return stream
        self.check_stream_room(len(streams), self.settings.max_streams_per_call)
        model = await self.models.get(request.model)
        width, tolerance = _config(model)
        stream = _Stream(model, model_schema(model.metadata), width, tolerance, WindowPValues(model.calibrator.size))
        streams[request.stream_id] = stream
        return stream

    async def _stream_message(self, streams: dict[str, _Stream], request: pb.StreamDetectRequest
                              ) -> pb.StreamDetectResponse:
        stream = await self._open(streams, request)
        has_events = bool(request.events.ListFields())
        if has_events:
            batch = self._events(request.events, stream.schema, stream.tolerance, stream.last_time)
        elif request.close:
            batch = None
        else:
            raise InvalidInputError("events is empty; send events, or close the stream", "events")
        response = pb.StreamDetectResponse(stream_id=request.stream_id, offset=stream.offset)
        windows_closed = []
        if batch is not None:
            scores, state = await stream.model.backend.stream_step(batch, stream.state, request.adapt)
            windows, stream.state = split_outputs(state, stream.window_seconds)
            p_values = stream.model.calibrator.p_values(scores)
            decided = stream.events.decide(p_values, request.policy, self.settings.stream_fdr_window)
            stream.windows.add(batch.times, p_values, stream.window_seconds)
            stream.last_time = max(stream.last_time, float(batch.times.max()))
            response.scores.CopyFrom(from_numpy(scores))
            response.decisions.CopyFrom(decided.proto())
            stream.offset += len(scores)
            windows_closed.append(windows)
        if request.close:
            streams.pop(request.stream_id, None)
            if stream.state is not None:
                empty = EventBatch(np.zeros(0), np.empty((0, len(stream.schema.categorical)), dtype=object),
                                   np.zeros((0, len(stream.schema.continuous)), np.float32),
                                   stream.schema.categorical, stream.schema.continuous)
                _, state = await stream.model.backend.stream_step(empty, with_flush(stream.state), False)
                windows_closed.append(split_outputs(state, stream.window_seconds)[0])
                stream.windows.flush()
        for windows in windows_closed:
            if len(windows):
                window_p = stream.windows.take(windows.index)
                decided = stream.window_recent.decide(window_p, request.policy, self.settings.stream_fdr_window)
                response.windows.extend(windows_proto(windows, stream.window_seconds, window_p,
                                                      decided.decision.anomalous, decided.proto()))
        return response

    # -- Fit / GetModelInfo ----------------------------------------------------------------
    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        schema = schema_from_proto(request.schema)
        if schema is None and overrides.get("categorical") is not None and overrides.get("continuous") is not None:
            schema = EventSchema(categorical=tuple(overrides["categorical"]), continuous=tuple(overrides["continuous"]))
        if schema is None:
            if request.events.jsonl:
                raise InvalidInputError("schema is required with JSON-lines events (or categorical / continuous in "
                                        "config_json)", "schema")
            schema = EventSchema(categorical=tuple(c.name for c in request.events.categorical),
                                 continuous=tuple(c.name for c in request.events.continuous))
        if not schema.attributes:
            raise InvalidInputError("events need at least one attribute", "schema")
        overrides.update(categorical=list(schema.categorical), continuous=list(schema.continuous))
        tolerance = float(overrides.get("time_tolerance", 60.0))
        batch = self._events(request.events, schema, tolerance)
        if len(batch) < self.settings.min_fit_events:
            raise InvalidInputError(f"events has {len(batch)} events; Fit needs at least "
                                    f"{self.settings.min_fit_events}", "events")
        split = round(len(batch) * (1.0 - fraction))
        return batch.take(slice(0, split)), batch.take(slice(split, len(batch)))

    async def Fit(self, request: pb.FitRequest, context: aio.ServicerContext) -> pb.FitResponse:
        answer = await super().Fit(request, context)
        model = await self.models.get(common_pb2.ModelRef(detector=answer.model.detector,
                                                          version=answer.model.version))
        answer.schema.CopyFrom(schema_proto(model_schema(model.metadata)))
        return answer

    async def GetModelInfo(self, request: pb.GetModelInfoRequest, context: aio.ServicerContext
                           ) -> pb.GetModelInfoResponse:
        model = await self.models.get(request.model)
        return pb.GetModelInfoResponse(model=self.model_info(model), schema=schema_proto(model_schema(model.metadata)))

