"""Settings of the logs service: addresses, limits and defaults."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "LogsSettings"]

SERVICE = "logs"


class LogsSettings(ServiceSettings):
    """Limits and defaults of ``polyad.logs.v1.LogsService`` (the README's input rules)."""

    max_line_chars: int = Field(4096, ge=16, description="Longer lines are truncated to this many characters.")
    max_session_lines: int = Field(10_000, ge=1, description="Detect rejects longer sessions; streams slide a window.")
    max_sessions_per_request: int = Field(10_000, ge=1, description="Most sessions one Detect may carry.")
    max_lines_per_request: int = Field(500_000, ge=1, description="Most lines one Detect or stream message may carry.")
    max_open_sessions: int = Field(10_000, ge=1, description="Open sessions per stream; the least recent is evicted.")
    top_lines_limit: int = Field(100, ge=1, description="Largest top_lines a request may ask for.")
    stream_fdr_window: int = Field(256, ge=1, description="Recent session p-values a stream FDR rule looks at.")
    min_fit_sessions: int = Field(20, ge=2, description="Fewest sessions Fit accepts.")
