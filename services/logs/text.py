"""Raw log text → lines → sessions: decoding, limits and grouping, shared by the service, CLI and bench.

Lines are decoded as UTF-8 with invalid bytes replaced (never an error), ``\\r`` is dropped, blank
lines are skipped and lines longer than the limit are truncated (and counted). A batch of sessions is
a 1-D object array ``(n,)`` whose elements are one session's lines joined by ``\\n``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.logs.patterns import Pattern, compile_user_pattern

__all__ = [
    "DEFAULT_MAX_LINE_CHARS",
    "LineStats",
    "decode_line",
    "group_lines",
    "join_sessions",
    "session_key",
    "session_lines",
    "split_text",
]

DEFAULT_MAX_LINE_CHARS = 4096


@dataclass
class LineStats:
    """What input handling did: blank lines skipped, over-long lines truncated."""

    skipped_empty: int = 0
    truncated: int = 0
    truncated_examples: list[int] = field(default_factory=list)


def decode_line(raw: bytes | str, max_chars: int, stats: LineStats | None = None) -> str:
    """One line as text: UTF-8 with replacement, no line breaks, at most ``max_chars`` characters."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else raw
    text = text.replace("\r", "").replace("\n", " ").strip()
    if len(text) > max_chars:
        text = text[:max_chars]
        if stats is not None:
            stats.truncated += 1
    return text


def split_text(content: bytes | str, max_chars: int = DEFAULT_MAX_LINE_CHARS,
               stats: LineStats | None = None) -> list[str]:
    """Non-blank lines of a log file's content (bytes are decoded with replacement)."""
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes | bytearray) else content
    lines = []
    for raw in text.split("\n"):
        line = decode_line(raw, max_chars, stats)
        if line:
            lines.append(line)
        elif stats is not None:
            stats.skipped_empty += 1
    return lines


def clean_lines(raw_lines: Iterable[bytes | str], max_chars: int, stats: LineStats | None = None) -> list[str]:
    """Decode, truncate and drop blank lines from a sequence of raw lines."""
    out = []
    for raw in raw_lines:
        line = decode_line(raw, max_chars, stats)
        if line:
            out.append(line)
        elif stats is not None:
            stats.skipped_empty += 1
    return out


def session_key(line: str, pattern: Pattern | None) -> str:
    """The session a line belongs to: the pattern's first group (or whole match); "" when none."""
    if pattern is None:
        return ""
    found = pattern.search(line)
    if found is None:
        return ""
    return found.group(1) if pattern.groups else found.group(0)


def group_lines(lines: Sequence[str], pattern: str, window_lines: int) -> list[tuple[str, list[str]]]:
    """(session id, lines) in order of first appearance.

    Lines whose key ``pattern`` matches go to that key's session; the rest (all lines when
    ``pattern`` is empty) are cut into consecutive windows of ``window_lines`` named ``window-<i>``.
    """
    compiled = compile_user_pattern(pattern, "session_pattern")
    sessions: dict[str, list[str]] = {}
    unkeyed = 0
    for line in lines:
        key = session_key(line, compiled)
        if not key:
            key = f"window-{unkeyed // window_lines}"
            unkeyed += 1
        sessions.setdefault(key, []).append(line)
    return list(sessions.items())


def join_sessions(sessions: Iterable[Sequence[str]]) -> np.ndarray:
    """Sessions as the detector's batch: object array ``(n,)`` of newline-joined lines."""
    items = ["\n".join(lines) for lines in sessions]
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def session_lines(session: str) -> list[str]:
    """The non-blank lines of one batch element."""
    return [line for line in str(session).split("\n") if line.strip()]
