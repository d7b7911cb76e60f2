"""Per-call stream bookkeeping: session keys, windows, eviction, results and the top lines of sessions.

The model state of every open session travels as one array state through the backend; this module
turns a request's raw lines into the detector's ``(k, 2)`` rows of (session key, line), where an
empty line closes a session, and turns the row scores back into line and session results.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from polyad.logs.v1 import logs_pb2 as pb
from services.core.calibration import Rule, decide_recent
from services.core.contract import StreamState
from services.core.models import LoadedModel
from services.core.responses import MAX_WINDOW
from services.logs.patterns import Pattern
from services.logs.text import LineStats, decode_line, session_key

__all__ = ["OpenSession", "StreamCall", "as_points"]

Rows = list[tuple[str, str]]


@dataclass
class OpenSession:
    """An open session: lines seen and its highest-scoring lines (a min-heap of (score, index, text))."""

    count: int = 0
    top: list[tuple[float, int, str]] = field(default_factory=list)

    def add(self, score: float, text: str, keep: int) -> None:
        """Count a scored line; remember it if it is among the ``keep`` highest."""
        item = (score, self.count, text)
        self.count += 1
        if len(self.top) < keep:
            heapq.heappush(self.top, item)
        elif score > self.top[0][0]:
            heapq.heapreplace(self.top, item)

    def top_lines(self) -> list[pb.ScoredLine]:
        """The kept lines, highest score first."""
        return [pb.ScoredLine(index=i, text=t, score=s) for s, i, t in sorted(self.top, reverse=True)]


@dataclass
class StreamCall:
    """Everything one StreamDetect call keeps between messages."""

    model: LoadedModel
    pattern: Pattern | None
    window_lines: int
    max_session_lines: int
    max_open: int
    top_k: int = 5
    state: StreamState | None = None
    counts: OrderedDict[str, int] = field(default_factory=OrderedDict)  # open sessions, least recent first
    sessions: dict[str, OpenSession] = field(default_factory=dict)
    window_index: int = 0
    recent_p: deque = field(default_factory=lambda: deque(maxlen=MAX_WINDOW))

    def rows(self, request: pb.StreamDetectRequest, max_chars: int, stats: LineStats) -> tuple[Rows, dict[int, int]]:
        """Detector rows for a request and, for each close row, its ``CloseReason``."""
        rows: Rows = []
        reasons: dict[int, int] = {}
        for message in request.lines:
            text = decode_line(message.text, max_chars, stats)
            if not text:
                stats.skipped_empty += 1
                continue
            key = message.session_key or session_key(text, self.pattern)
            windowed = not key
            key = key or f"window-{self.window_index}"
            if key in self.counts:
                self.counts.move_to_end(key)
            else:
                if len(self.counts) >= self.max_open:
                    self._close(next(iter(self.counts)), pb.CLOSE_REASON_EVICTED, rows, reasons)
                self.counts[key] = 0
            rows.append((key, text))
            self.counts[key] += 1
            if self.counts[key] >= (self.window_lines if windowed else self.max_session_lines):
                self._close(key, pb.CLOSE_REASON_WINDOW, rows, reasons)
                self.window_index += int(windowed)
        for key in request.close_sessions:
            if key in self.counts:
                self._close(key, pb.CLOSE_REASON_REQUESTED, rows, reasons)
        return rows, reasons

    def close_all(self) -> tuple[Rows, dict[int, int]]:
        """Close rows for every open session (the end of the stream)."""
        rows: Rows = []
        reasons: dict[int, int] = {}
        for key in list(self.counts):
            self._close(key, pb.CLOSE_REASON_END_OF_STREAM, rows, reasons)
        return rows, reasons

    def _close(self, key: str, reason: int, rows: Rows, reasons: dict[int, int]) -> None:
        del self.counts[key]
        reasons[len(rows)] = reason
        rows.append((key, ""))

    def results(self, rows: Rows, scores: np.ndarray, reasons: dict[int, int], rule: Rule, alpha: float,
                window: int) -> pb.StreamDetectResponse:
        """Line results and closed-session results for scored ``rows``."""
        response = pb.StreamDetectResponse()
        closes = sorted(reasons)
        p_values = self.model.calibrator.p_values(scores[closes]) if closes else np.zeros(0)
        self.recent_p.extend(p_values.tolist())
        context = np.fromiter(self.recent_p, dtype=np.float64)[-max(window, len(closes)):]
        decision = decide_recent(context, len(closes), rule, alpha)
        flags = dict(zip(closes, decision.anomalous.tolist(), strict=True))
        p_of = dict(zip(closes, p_values.tolist(), strict=True))
        for row, (key, text) in enumerate(rows):
            score = float(scores[row])
            if text:
                session = self.sessions.setdefault(key, OpenSession())
                response.lines.append(pb.LineResult(session_key=key, index=session.count, score=score))
                session.add(score, text, self.top_k)
                continue
            session = self.sessions.pop(key, OpenSession())
            result = pb.SessionResult(id=key, score=score, p_value=p_of[row], anomalous=bool(flags[row]),
                                      line_count=session.count, top_lines=session.top_lines())
            response.sessions.append(pb.StreamSessionResult(result=result, reason=reasons[row]))
        return response


def as_points(rows: Rows) -> np.ndarray:
    """Rows as the detector's ``(k, 2)`` object array."""
    points = np.empty((len(rows), 2), dtype=object)
    for i, (key, text) in enumerate(rows):
        points[i, 0], points[i, 1] = key, text
    return points
