"""Settings of the traffic service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "TrafficSettings"]

SERVICE = "traffic"


class TrafficSettings(ServiceSettings):
    """Limits and defaults of ``polyad.traffic.v1.TrafficService``."""

    max_cells: int = Field(5_000_000, ge=1, description="Most (time, sensor) cells in one request.")
    max_streams_per_call: int = Field(256, ge=1, description="Distinct stream ids one StreamDetect call may open.")
    stream_fdr_window: int = Field(1024, ge=1, description="Default window of recent cell p-values for stream FDR "
                                                           "rules (at least one network snapshot).")
    max_flagged: int = Field(10_000, ge=0, description="Most flagged cells listed in one response.")
    min_fit_snapshots: int = Field(60, ge=10, description="Fewest snapshots Fit accepts.")
