"""Settings of the time-series service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "TimeSeriesSettings"]

SERVICE = "timeseries"


class TimeSeriesSettings(ServiceSettings):
    """Limits and defaults of ``polyad.timeseries.v1.TimeSeriesService``."""

    max_points: int = Field(2_000_000, description="Longest series accepted (time steps).")
    max_channels: int = Field(512, description="Most channels accepted.")
    max_series_per_request: int = Field(256)
    max_streams_per_call: int = Field(1024, description="Distinct stream ids one StreamDetect call may open.")
    stream_fdr_window: int = Field(256, description="Default window of recent p-values for stream FDR rules.")
    min_fit_points: int = Field(64, description="Fewest points Fit accepts.")
