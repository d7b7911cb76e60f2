"""``polyad.traffic.v1.TrafficService``: decode → backend → encode, nothing more.

Cell p-values are conformal against held-out normal cells' scores (the model's calibrator); the request's rule
(Benjamini–Yekutieli for FDR control under the network's dependence) runs over every cell of the batch, or over
a stream's most recent cells. Recommend runs the model's LyCon-WRL+ controller in the service process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from grpc import aio

from polyad.common.v1 import common_pb2
from polyad.traffic.v1 import traffic_pb2 as pb
from polyad.traffic.v1 import traffic_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.contract import StreamState
from services.core.errors import InvalidInputError, NotReadyError, public_message
from services.core.models import LoadedModel
from services.core.servicing import DomainServicer, RecentPValues
from services.traffic.batch import SensorBatch, validate_batch
from services.traffic.codec import decode_snapshots, flagged_cells, forecast_proto, graph_proto, tensor
from services.traffic.config import TrafficSettings
from services.traffic.model_files import ModelFiles

__all__ = ["TrafficServicer"]


@dataclass
class _Stream:
    """One stream of a StreamDetect call."""

    model: LoadedModel
    state: StreamState | None = None
    offset: int = 0
    last_time: float = -np.inf
    recent: RecentPValues = field(default_factory=RecentPValues)


class TrafficServicer(DomainServicer, pb_grpc.TrafficServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: TrafficSettings

    def __init__(self, models: Any, settings: TrafficSettings) -> None:
        super().__init__(models, settings)
        self.files = ModelFiles()

    def _batch(self, model: LoadedModel, batch: SensorBatch, last_time: float = -np.inf) -> SensorBatch:
        shape = model.metadata.input_spec.shape
        return validate_batch(batch, shape[1], shape[2], self.settings.max_cells, last_time)

    # -- Detect ---------------------------------------------------------------------------------------------
    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        model = await self.models.get(request.model)
        batch = self._batch(model, decode_snapshots(request.snapshots, request.context, request.coverage))
        t, n, _ = batch.shape
        scores, evidence = await model.backend.score_and_explain(batch)
        decided = self.decide(model, scores, request.policy)
        p_values, flags = decided.p_values.reshape(t, n), decided.decision.anomalous.reshape(t, n)
        response = pb.DetectResponse(scores=from_numpy(scores.reshape(t, n)), decisions=decided.proto())
        response.flagged.extend(flagged_cells(flags, scores.reshape(t, n), p_values, batch.times,
                                              self.files.sensors(model), evidence.propagation,
                                              self.settings.max_flagged))
        if request.explain:
            response.forecast.CopyFrom(forecast_proto(evidence.mean, evidence.lower, evidence.upper, batch.coverage,
                                                      evidence.coverage))
            response.propagation.CopyFrom(from_numpy(evidence.propagation))
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    # -- StreamDetect ---------------------------------------------------------------------------------------
    async def StreamDetect(self, requests: AsyncIterator[pb.StreamDetectRequest], context: aio.ServicerContext
                           ) -> AsyncIterator[pb.StreamDetectResponse]:
        streams: dict[str, _Stream] = {}
        async for request in requests:
            try:
                response = await self._stream_message(streams, request)
            except InvalidInputError as error:  # the stream stays open; this message is rejected
                stream = streams.get(request.stream_id)
                response = pb.StreamDetectResponse(
                    stream_id=request.stream_id, offset=stream.offset if stream is not None else 0,
                    error=common_pb2.ErrorDetail(field=error.field, reason=public_message(error)))
            yield response

    async def _stream_message(self, streams: dict[str, _Stream], request: pb.StreamDetectRequest
                              ) -> pb.StreamDetectResponse:
        stream = streams.get(request.stream_id)
        if stream is None:
            self.check_stream_room(len(streams), self.settings.max_streams_per_call)
            stream = streams[request.stream_id] = _Stream(await self.models.get(request.model))
        response = pb.StreamDetectResponse(stream_id=request.stream_id, offset=stream.offset)
        if request.snapshots.ListFields():
            batch = self._batch(stream.model, decode_snapshots(request.snapshots, None, request.coverage),
                                stream.last_time)
            t, n, _ = batch.shape
            scores, state = await stream.model.backend.stream_step(batch, stream.state, request.adapt)
            stream.state = {k: v for k, v in state.items() if not k.startswith("out.")}
            p_values = stream.model.calibrator.p_values(scores)
            decided = stream.recent.decide(p_values, request.policy, self.settings.stream_fdr_window)
            flags = decided.decision.anomalous.reshape(t, n)
            response.scores.CopyFrom(from_numpy(scores.reshape(t, n)))
            response.decisions.CopyFrom(decided.proto())
            response.flagged.extend(flagged_cells(flags, scores.reshape(t, n), p_values.reshape(t, n), batch.times,
                                                  self.files.sensors(stream.model), state["out.propagation"],
                                                  self.settings.max_flagged))
            coverage = state["covered"] / np.maximum(state["seen"], 1)
            response.forecast.CopyFrom(forecast_proto(state["out.mean"], state["out.lower"], state["out.upper"],
                                                      batch.coverage, coverage))
            response.propagation.CopyFrom(from_numpy(state["out.propagation"]))
            stream.offset += t
            stream.last_time = float(batch.times[-1])
        elif not request.close:
            raise InvalidInputError("snapshots is empty; send snapshots, or close the stream", "snapshots")
        if request.close:
            streams.pop(request.stream_id, None)
        return response

    # -- Recommend ------------------------------------------------------------------------------------------
    async def Recommend(self, request: pb.RecommendRequest, context: aio.ServicerContext) -> pb.RecommendResponse:
        model = await self.models.get(request.model)
        controller = self.files.controller(model)
        if controller is None:
            raise NotReadyError(f"model {model.stored.detector}/{model.stored.version} has no controller; train one "
                                "with `polyad train traffic` on a simulated network")
        agent, meta = controller
        if not request.intersections:
            raise InvalidInputError("intersections is empty", "intersections")
        obs, valid = self._observations(request.intersections, meta)
        choice = agent.act(obs, valid)
        response = pb.RecommendResponse()
        for k, state in enumerate(request.intersections):
            phases = meta["phases"][meta["intersections"].index(state.id)]
            response.recommendations.append(pb.Recommendation(
                id=state.id, phase=int(choice.action[k]), preferred_phase=int(choice.preferred[k]),
                safe=bool(choice.safe[k]), projected=bool(choice.projected[k]), lyapunov=float(choice.lyapunov[k]),
                predicted_lyapunov=float(choice.predicted[k]), bound=float(choice.bound[k]),
                q_values=choice.q_values[k, :phases].tolist()))
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    @staticmethod
    def _observations(states: Any, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Padded observations ``(B, D)`` and valid-phase masks ``(B, P)`` from ``IntersectionState``s."""
        p_max, l_max = meta["max_phases"], meta["max_lanes"]
        obs = np.zeros((len(states), p_max + 1 + 2 * l_max), np.float32)
        valid = np.zeros((len(states), p_max), bool)
        for k, state in enumerate(states):
            where = f"intersections[{k}]"
            if state.id not in meta["intersections"]:
                raise InvalidInputError(f"{where}.id {state.id!r} is not one of the controller's intersections "
                                        f"({', '.join(meta['intersections'])})", f"{where}.id")
            j = meta["intersections"].index(state.id)
            phases, lanes = meta["phases"][j], meta["lanes"][j]
            if not 0 <= state.phase < phases:
                raise InvalidInputError(f"{where}.phase must be in [0, {phases})", f"{where}.phase")
            for name in ("density", "queue"):
                values = np.asarray(getattr(state, name), np.float32)
                if values.size != lanes:
                    raise InvalidInputError(f"{where}.{name} has {values.size} lanes; {state.id} has {lanes}",
                                            f"{where}.{name}")
                if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
                    raise InvalidInputError(f"{where}.{name} must be finite shares in [0, 1]", f"{where}.{name}")
            obs[k, state.phase] = 1.0
            obs[k, p_max] = float(state.min_green_elapsed)
            obs[k, p_max + 1: p_max + 1 + lanes] = state.density
            obs[k, p_max + 1 + l_max: p_max + 1 + l_max + lanes] = state.queue
            valid[k, :phases] = True
        return obs, valid

    # -- Fit / GetModelInfo -----------------------------------------------------------------------------------
    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        graph = request.graph
        if not graph.HasField("adjacency"):
            raise InvalidInputError("graph.adjacency is required to fit", "graph.adjacency")
        adjacency = tensor(graph.adjacency, "graph.adjacency", "bui").astype(bool)
        batch = decode_snapshots(request.snapshots)
        readings = np.asarray(batch.readings)
        if readings.ndim != 3:
            raise InvalidInputError(f"snapshots.readings: expected [T, N, F], got {list(readings.shape)}",
                                    "snapshots.readings")
        t, n, f = readings.shape
        if adjacency.shape != (n, n):
            raise InvalidInputError(f"graph.adjacency: expected [{n}, {n}], got {list(adjacency.shape)}",
                                    "graph.adjacency")
        if graph.sensors:
            if len(graph.sensors) != n:
                raise InvalidInputError(f"graph.sensors lists {len(graph.sensors)} sensors; readings have {n}",
                                        "graph.sensors")
            overrides["sensors"] = list(graph.sensors)
        if graph.features:
            if len(graph.features) != f:
                raise InvalidInputError(f"graph.features lists {len(graph.features)}; readings have {f}",
                                        "graph.features")
            overrides["features"] = list(graph.features)
        elif "features" not in overrides:
            overrides["features"] = [f"f{k}" for k in range(f)]
        batch = validate_batch(replace(batch, adjacency=adjacency), n, f, self.settings.max_cells)
        if t < self.settings.min_fit_snapshots:
            raise InvalidInputError(f"snapshots has {t}; Fit needs at least {self.settings.min_fit_snapshots}",
                                    "snapshots")
        split = round(t * (1.0 - fraction))
        missing = batch.missing
        train = replace(batch, readings=batch.readings[:split], times=batch.times[:split],
                        missing=None if missing is None else missing[:split])
        calibration = SensorBatch(batch.readings[split:], batch.times[split:],
                                  None if missing is None else missing[split:], context=batch.readings[:split])
        return train, calibration

    async def Fit(self, request: pb.FitRequest, context: aio.ServicerContext) -> pb.FitResponse:
        answer = await super().Fit(request, context)
        model = await self.models.get(common_pb2.ModelRef(detector=answer.model.detector,
                                                          version=answer.model.version))
        answer.graph.CopyFrom(self._graph(model))
        return answer

    def _graph(self, model: LoadedModel) -> pb.Graph:
        return graph_proto(self.files.sensors(model), list(model.metadata.config.get("features", [])),
                           self.files.adjacency(model))

    async def GetModelInfo(self, request: pb.GetModelInfoRequest, context: aio.ServicerContext
                           ) -> pb.GetModelInfoResponse:
        model = await self.models.get(request.model)
        controller = self.files.controller(model)
        return pb.GetModelInfoResponse(model=self.model_info(model), graph=self._graph(model),
                                       intersections=controller[1]["intersections"] if controller else [])
