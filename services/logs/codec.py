"""Protobuf sessions / log files → validated lists of lines, applying the documented input rules.

Rules: bytes are decoded as UTF-8 with replacement (never rejected); blank lines are skipped; lines
over ``max_line_chars`` are truncated; a session with no non-blank line, more than
``max_session_lines`` lines, more than ``max_sessions_per_request`` sessions or more than
``max_lines_per_request`` lines in all is rejected with INVALID_ARGUMENT naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from polyad.logs.v1 import logs_pb2 as pb
from services.core.errors import InvalidInputError, LimitExceededError
from services.logs.config import LogsSettings
from services.logs.patterns import Pattern, compile_user_pattern
from services.logs.text import LineStats, clean_lines, group_lines, split_text

__all__ = ["DecodedSessions", "compile_pattern", "decode_sessions", "grouping"]


@dataclass
class DecodedSessions:
    """Session ids and their lines, with what the input rules did."""

    ids: list[str]
    lines: list[list[str]]
    stats: LineStats = field(default_factory=LineStats)

    def report(self) -> pb.InputReport:
        """The response's ``InputReport``."""
        return pb.InputReport(skipped_empty_lines=self.stats.skipped_empty, truncated_lines=self.stats.truncated)


def compile_pattern(pattern: str, field_name: str) -> Pattern | None:
    """The compiled session pattern (None when empty), on RE2; a bad or unsupported regex is an input error."""
    return compile_user_pattern(pattern, field_name)


def grouping(pattern: str, window: int, model_config: dict[str, Any]) -> tuple[str, int]:
    """(session pattern, window lines): the request's values, else the model's, else no pattern / 50."""
    return pattern or str(model_config.get("session_pattern", "")), int(window or model_config.get("window_lines", 50))


def decode_sessions(
    sessions: list[pb.Session], file: pb.LogFile | None, settings: LogsSettings, model_config: dict[str, Any]
) -> DecodedSessions:
    """Validated sessions from explicit ``sessions`` or a raw ``file`` (exactly one of them)."""
    stats = LineStats()
    if file is not None and sessions:
        raise InvalidInputError("set either sessions or file, not both")
    if file is not None:
        pattern, window = grouping(file.session_pattern, file.window_lines, model_config)
        compile_pattern(pattern, "file.session_pattern")
        lines = split_text(file.content, settings.max_line_chars, stats)
        if not lines:
            raise InvalidInputError("file has no non-blank lines", "file.content")
        _check_total(len(lines), settings)
        groups = group_lines(lines, pattern, window)
        prefix = f"{file.name}:" if file.name else ""
        decoded = DecodedSessions([prefix + key if key.startswith("window-") else key for key, _ in groups],
                                  [g for _, g in groups], stats)
    else:
        if not sessions:
            raise InvalidInputError("sessions is empty; expected at least one session (or a file)", "sessions")
        decoded = DecodedSessions([], [], stats)
        for i, session in enumerate(sessions):
            lines = clean_lines(session.lines, settings.max_line_chars, stats)
            if not lines:
                raise InvalidInputError(f"sessions[{i}] has no non-blank lines", f"sessions[{i}].lines")
            decoded.ids.append(session.id or str(i))
            decoded.lines.append(lines)
        _check_total(sum(len(x) for x in decoded.lines), settings)
    if len(decoded.ids) > settings.max_sessions_per_request:
        raise InvalidInputError(
            f"{len(decoded.ids)} sessions in one request; the limit is {settings.max_sessions_per_request}")
    for session_id, lines in zip(decoded.ids, decoded.lines, strict=True):
        if len(lines) > settings.max_session_lines:
            raise LimitExceededError(f"session {session_id!r} has {len(lines)} lines; the limit is "
                                     f"{settings.max_session_lines} (split it, or stream it to slide a window)",
                                     "lines")
    return decoded


def _check_total(total: int, settings: LogsSettings) -> None:
    if total > settings.max_lines_per_request:
        raise LimitExceededError(f"{total} lines in one request; the limit is {settings.max_lines_per_request}",
                                 "lines")
