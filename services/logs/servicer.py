"""``polyad.logs.v1.LogsService``: decode → backend → encode, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from grpc import aio

from polyad.common.v1 import common_pb2
from polyad.logs.v1 import logs_pb2 as pb
from polyad.logs.v1 import logs_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError, LimitExceededError
from services.core.responses import RULES_BY_NAME, policy_from_proto
from services.core.servicing import DomainServicer
from services.core.training import chronological_split
from services.logs.codec import compile_pattern, decode_sessions, grouping
from services.logs.config import LogsSettings
from services.logs.streams import StreamCall, as_points
from services.logs.text import LineStats, join_sessions

__all__ = ["LogsServicer"]


class LogsServicer(DomainServicer, pb_grpc.LogsServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: LogsSettings

    def _top(self, requested: int) -> int:
        if requested > self.settings.top_lines_limit:
            raise InvalidInputError(f"top_lines must be at most {self.settings.top_lines_limit}, got {requested}")
        return requested or 5

    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        top = self._top(request.top_lines)
        model = await self.models.get(request.model)
        file = request.file if request.HasField("file") else None
        decoded = decode_sessions(list(request.sessions), file, self.settings, model.metadata.config)
        scores, line_scores = await model.backend.score_and_explain(join_sessions(decoded.lines))
        decided = self.decide(model, scores, request.policy)
        p_values, decision = decided.p_values, decided.decision
        response = pb.DetectResponse(rule=RULES_BY_NAME[decision.rule.value], alpha=decision.alpha,
                                     p_value_threshold=decision.threshold, input=decoded.report())
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        for i, (session_id, lines) in enumerate(zip(decoded.ids, decoded.lines, strict=True)):
            row = line_scores[i, : len(lines)]
            order = np.argsort(-row, kind="stable")[:top]
            result = pb.SessionResult(
                id=session_id, score=float(scores[i]), p_value=float(p_values[i]),
                anomalous=bool(decision.anomalous[i]), line_count=len(lines),
                top_lines=[pb.ScoredLine(index=int(j), text=lines[j], score=float(row[j])) for j in order],
            )
            if request.include_line_scores:
                result.line_scores.CopyFrom(from_numpy(row.astype(np.float32)))
            response.results.append(result)
        return response

    async def StreamDetect(
        self, requests: AsyncIterator[pb.StreamDetectRequest], context: aio.ServicerContext
    ) -> AsyncIterator[pb.StreamDetectResponse]:
        call: StreamCall | None = None
        rule, alpha, window = policy_from_proto(common_pb2.DecisionPolicy(), self.settings.stream_fdr_window)
        async for request in requests:
            if call is None:
                call = await self._open(request)
            if request.HasField("policy"):
                rule, alpha, window = policy_from_proto(request.policy, self.settings.stream_fdr_window)
            if len(request.lines) > self.settings.max_lines_per_request:
                raise LimitExceededError(f"{len(request.lines)} lines in one message; the limit is "
                                         f"{self.settings.max_lines_per_request}", "lines")
            stats = LineStats()
            rows, reasons = call.rows(request, self.settings.max_line_chars, stats)
            response = await self._score(call, rows, reasons, rule, alpha, window)
            response.input.CopyFrom(pb.InputReport(skipped_empty_lines=stats.skipped_empty,
                                                   truncated_lines=stats.truncated))
            yield response
        if call is not None and call.counts:
            yield await self._score(call, *call.close_all(), rule, alpha, window)

    async def _open(self, first: pb.StreamDetectRequest) -> StreamCall:
        model = await self.models.get(first.model)
        pattern, window_lines = grouping(first.session_pattern, first.window_lines, model.metadata.config)
        return StreamCall(model, compile_pattern(pattern, "session_pattern"), window_lines,
                          self.settings.max_session_lines, self.settings.max_open_sessions)

    async def _score(self, call: StreamCall, rows, reasons, rule, alpha, window) -> pb.StreamDetectResponse:  # type: ignore[no-untyped-def]
        if not rows:
            return pb.StreamDetectResponse()
        scores, call.state = await call.model.backend.stream_step(as_points(rows), call.state, False)
        return call.results(rows, scores, reasons, rule, alpha, window)

    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        file = request.file if request.HasField("file") else None
        decoded = decode_sessions(list(request.sessions), file, self.settings, overrides)
        if len(decoded.lines) < self.settings.min_fit_sessions:
            raise InvalidInputError(f"{len(decoded.lines)} sessions; Fit needs at least "
                                    f"{self.settings.min_fit_sessions}", "sessions")
        return chronological_split(join_sessions(decoded.lines), fraction)

