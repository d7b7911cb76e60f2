"""The base of every domain servicer: it owns the steps all services share.

``GetModelInfo``, ``Fit`` (options, split, fit, store, answer), turning raw scores into p-values and
decisions, and the per-stream window of recent p-values live here; a domain servicer writes only
decode (request → batch) and encode (scores → its response message)::

    class GraphServicer(DomainServicer, graph_pb2_grpc.GraphServiceServicer):
        messages = graph_pb2

        async def Detect(self, request, context):
            model = await self.models.get(request.model)
            batch = decode_graph(request.graph, ...)                      # decode
            scores, evidence = await model.backend.score_and_explain(batch)
            decisions = self.decide(model, scores, request.policy)         # shared
            return graph_pb2.DetectResponse(...)                           # encode

        def fit_data(self, request, overrides, fraction):                 # decode a FitRequest
            return train, calibration
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
from google.protobuf.message import Message
from grpc import aio

from polyad.common.v1 import common_pb2
from services.core import registry
from services.core.calibration import Decision, decide, decide_recent
from services.core.errors import InvalidInputError, LimitExceededError
from services.core.models import LoadedModel, ModelManager
from services.core.responses import MAX_WINDOW, decisions_proto, policy_from_proto
from services.core.settings import ServiceSettings
from services.core.training import fit_options

__all__ = ["DomainServicer", "RecentPValues", "ScoredDecisions"]


@dataclass(frozen=True, slots=True)
class ScoredDecisions:
    """P-values ``(n,)`` and the decision over them, plus the ``common.v1.Decisions`` message."""

    p_values: np.ndarray
    decision: Decision

    def proto(self) -> common_pb2.Decisions:
        """The shared ``Decisions`` message."""
        return decisions_proto(self.p_values, self.decision)


@dataclass
class RecentPValues:
    """One stream's recent p-values: a stream FDR rule decides new points in the context of the last ``window``."""

    values: deque = field(default_factory=lambda: deque(maxlen=MAX_WINDOW))

    def decide(self, p_values: np.ndarray, policy: common_pb2.DecisionPolicy, default_window: int) -> ScoredDecisions:
        """Decisions for the newest ``p_values`` ``(k,)`` given the stream's history (``policy.window`` long)."""
        rule, alpha, window = policy_from_proto(policy, default_window)
        self.values.extend(p_values.tolist())
        context = np.fromiter(self.values, dtype=np.float64)[-max(window, len(p_values)):]
        return ScoredDecisions(p_values, decide_recent(context, len(p_values), rule, alpha))


class DomainServicer:
    """Owns ``GetModelInfo``, ``Fit`` and decisions; list it before the generated servicer base.

    A subclass sets ``messages`` (its generated ``*_pb2`` module, which holds ``GetModelInfoResponse``
    and ``FitResponse``) and implements ``Detect`` (and ``StreamDetect`` where it streams) and
    :meth:`fit_data`.
    """

    messages: ClassVar[ModuleType]

    def __init__(self, models: ModelManager, settings: ServiceSettings) -> None:
        self.models = models
        self.settings = settings

    # -- shared steps -------------------------------------------------------------------
    def decide(self, model: LoadedModel, scores: np.ndarray, policy: common_pb2.DecisionPolicy) -> ScoredDecisions:
        """Conformal p-values of raw ``scores`` ``(n,)`` and the request's decision rule over them."""
        return self.decide_p_values(model.calibrator.p_values(scores), policy)

    @staticmethod
    def check_stream_room(open_streams: int, limit: int) -> None:
        """LimitExceededError (field ``stream_id``) when a StreamDetect call with ``open_streams`` streams may
        open no more (``max_streams_per_call`` = ``limit``)."""
        if open_streams >= limit:
            raise LimitExceededError(f"more than {limit} streams in one call", "stream_id")

    @staticmethod
    def decide_p_values(p_values: np.ndarray, policy: common_pb2.DecisionPolicy) -> ScoredDecisions:
        """The request's decision rule over p-values ``(m,)`` already computed (e.g. combined per window)."""
        rule, alpha, _ = policy_from_proto(policy)
        return ScoredDecisions(p_values, decide(p_values, rule, alpha))

    def model_info(self, model: LoadedModel) -> common_pb2.ModelInfo:
        """``common.v1.ModelInfo`` of a loaded version, listing every detector this service can load."""
        info = model.info(self.settings.backend.kind)
        info.detectors.extend(registry.service_detectors(self.models.service))
        for name in info.detectors:
            reason = registry.detector_class(self.models.service, name).unavailable_reason()
            if reason:
                info.unavailable_detectors[name] = reason
        return info

    def fit_data(self, request: Any, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        """Decode a ``FitRequest`` into ``(train, calibration)``: normal data, and a held-out part never fitted."""
        raise InvalidInputError(f"the {self.models.service} service does not train from requests")

    # -- RPCs every service has ---------------------------------------------------------
    async def GetModelInfo(self, request: Any, context: aio.ServicerContext) -> Message:
        """The ``ModelInfo`` of the version ``request.model`` resolves to."""
        model = await self.models.get(request.model)
        return self.messages.GetModelInfoResponse(model=self.model_info(model))

    async def Fit(self, request: Any, context: aio.ServicerContext) -> Message:
        """Train ``request.detector`` on the request's normal data, calibrate, store and load the version."""
        overrides, fraction = fit_options(request.config_json, request.calibration_fraction)
        train, calibration = self.fit_data(request, overrides, fraction)
        model = await self.models.fit(request.detector, train, calibration, overrides)
        return self.messages.FitResponse(model=self.model_info(model))
