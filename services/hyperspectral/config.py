"""Settings of the hyperspectral service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "HyperspectralSettings"]

SERVICE = "hyperspectral"


class HyperspectralSettings(ServiceSettings):
    """Limits and defaults of ``polyad.hyperspectral.v1.HyperspectralService``."""

    max_pixels: int = Field(4_000_000, ge=1, description="Largest cube accepted by Detect / Fit, in pixels (H·W).")
    max_upload_bytes: int = Field(64 * 1024 * 1024, ge=1,
                                  description="Largest uploaded cube file (.mat / .npy / ENVI zip), in bytes.")
    min_fit_pixels: int = Field(256, ge=16, description="Fewest pixels a Fit cube must have.")
    min_calibration_rows: int = Field(2, ge=1, description="Fewest image rows Fit holds out for calibration.")
    overlay_min_side: int = Field(256, ge=1, description="Overlay PNGs are enlarged (nearest neighbour, integer "
                                                         "factor) until their shorter side reaches this.")
