"""PNG / JPEG in (2-D images as one-slice volumes; 8- and 16-bit grayscale kept at full depth) and PNG out."""

from __future__ import annotations

import io
import warnings

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.medical.volume import MedicalVolume, display_to_slice

__all__ = ["is_raster", "read_raster"]

_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}


def is_raster(data: bytes) -> str:
    """``"png"`` or ``"jpeg"`` when the bytes start with that signature, else ``""``."""
    return next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), "")


def read_raster(data: bytes, name: str = "upload", max_pixels: int = 4096 * 4096) -> MedicalVolume:
    """PNG / JPEG bytes -> a one-slice :class:`MedicalVolume` ``(W, H, 1)``; colour becomes luminance.

    Values keep their depth (16-bit PNG stays 0..65535). The image is taken as the display of an axial slice
    (see :mod:`services.medical.volume`), with 1 mm pixels.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width == 0 or height == 0:
                raise InvalidInputError(f"{name} is a zero-size image ({width}x{height})")
            if width * height > max_pixels:
                raise LimitExceededError(f"{name} is {width}x{height} pixels; the limit is {max_pixels}", name)
            image.load()
    except InvalidInputError:
        raise
    except UnidentifiedImageError as error:
        raise InvalidInputError(f"{name} is not a PNG or JPEG image") from error
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidInputError(f"{name} could not be decoded ({error}); is the file truncated?") from error
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F", "L"):
        pixels = np.asarray(image, dtype=np.float32)
    else:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    plane = display_to_slice(pixels)[:, :, None]
    affine = np.eye(4)  # 1 mm pixels, already RAS in the display convention
    return MedicalVolume(data=np.ascontiguousarray(plane, np.float32), affine=affine, source_affine=affine,
                         source_shape=plane.shape, modality="OT", format=is_raster(data) or "png")
