"""Settings of the vision service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["ENV_PREFIX", "SERVICE", "VisionSettings"]

SERVICE = "vision"
ENV_PREFIX = "POLYAD_VISION_"


class VisionSettings(ServiceSettings):
    """Limits and defaults of ``polyad.vision.v1.VisionService``."""

    address: str = Field("127.0.0.1:50062", description="host:port the gRPC server binds.")
    default_detector: str = "multi_ad"
    image_size: int = Field(256, ge=32, description="Side the images are resized to when the model names none.")
    max_pixels: int = Field(4096 * 4096, description="Largest image accepted (width × height).")
    max_images_per_request: int = Field(64)
    min_fit_images: int = Field(8, description="Fewest images Fit accepts.")
