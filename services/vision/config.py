"""Settings of the vision service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "VisionSettings"]

SERVICE = "vision"


class VisionSettings(ServiceSettings):
    """Limits and defaults of ``polyad.vision.v1.VisionService``."""

    image_size: int = Field(256, ge=32, description="Side the images are resized to when the model names none.")
    max_pixels: int = Field(64_000_000, ge=1, description="Largest image accepted (width × height, 64 MP): checked "
                            "from the header before decoding, below Pillow's own 179 MP bomb limit.")
    max_images_per_request: int = Field(64)
    min_fit_images: int = Field(8, description="Fewest images Fit accepts.")
