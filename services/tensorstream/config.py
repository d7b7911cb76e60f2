"""Settings of the tensor-stream service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "TensorStreamSettings"]

SERVICE = "tensorstream"


class TensorStreamSettings(ServiceSettings):
    """Limits and defaults of ``polyad.tensorstream.v1.TensorStreamService``."""

    max_events: int = Field(1_000_000, ge=1, description="Most events in one Detect / Fit request or stream message.")
    max_jsonl_bytes: int = Field(256 * 1024 * 1024, ge=1, description="Largest JSON-lines upload, in bytes.")
    max_streams_per_call: int = Field(1024, ge=1, description="Distinct stream ids one StreamDetect call may open.")
    stream_fdr_window: int = Field(256, ge=1, description="Default window of recent p-values for stream FDR rules.")
    min_fit_events: int = Field(200, ge=2, description="Fewest events Fit accepts.")
