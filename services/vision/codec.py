"""Decoding and validating images for the vision service: PNG/JPEG bytes or pixel tensors → RGB uint8.

Grayscale and RGBA are converted to RGB; two-channel images, zero-size images, files that are not
images, truncated files and images over the pixel limit are ``InvalidInputError`` naming the problem.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from polyad.common.v1 import common_pb2
from polyad.vision.v1 import vision_pb2
from services.core.codecs import to_numpy
from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["decode_image", "resize_image", "resize_map"]

PIXEL_TYPES = (common_pb2.DATA_TYPE_UINT8, common_pb2.DATA_TYPE_FLOAT32)


def _from_pixels(tensor: common_pb2.Tensor, field: str, max_pixels: int) -> np.ndarray:
    array = to_numpy(tensor, field=field, allowed=PIXEL_TYPES, ndim=(2, 3), max_bytes=max_pixels * 16)
    if array.ndim == 2:
        array = array[:, :, None]
    height, width, channels = array.shape
    if height == 0 or width == 0:
        raise InvalidInputError(f"{field} is a zero-size image ({height}x{width})", field)
    if height * width > max_pixels:
        raise LimitExceededError(f"{field} has {height * width} pixels; the limit is {max_pixels}", field)
    if channels not in (1, 3, 4):
        raise InvalidInputError(f"{field} has {channels} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)", field)
    if array.dtype == np.float32:
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise InvalidInputError(f"{field} float32 pixels must be finite and in [0, 1]", field)
        array = np.round(array * 255.0).astype(np.uint8)
    if channels == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def _from_encoded(data: bytes, field: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidInputError(f"{field} is empty; expected PNG or JPEG bytes", field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise LimitExceededError(f"{field} is {width}x{height} pixels; the limit is {max_pixels}", field)
            if width == 0 or height == 0:
                raise InvalidInputError(f"{field} is a zero-size image", field)
            image.load()
    except InvalidInputError:
        raise
    except UnidentifiedImageError as error:
        raise InvalidInputError(f"{field} is not a PNG or JPEG image", field) from error
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidInputError(f"{field} could not be decoded ({error}); is the file truncated?", field) from error
    if image.mode in ("LA", "PA") or len(image.getbands()) == 2:
        raise InvalidInputError(f"{field} has 2 channels (gray + alpha); expected gray, RGB or RGBA", field)
    if image.mode in ("I;16", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        span = max(float(array.max() - array.min()), 1e-9)
        image = Image.fromarray(((array - array.min()) / span * 255.0).astype(np.uint8))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def decode_image(message: vision_pb2.Image, field: str, max_pixels: int) -> np.ndarray:
    """An RGB uint8 ``(H, W, 3)`` array from an ``Image`` message."""
    kind = message.WhichOneof("content")
    if kind == "encoded":
        return _from_encoded(message.encoded, f"{field}.encoded", max_pixels)
    if kind == "pixels":
        return _from_pixels(message.pixels, f"{field}.pixels", max_pixels)
    raise InvalidInputError(f"{field} has no content; expected encoded PNG/JPEG bytes or a pixels tensor", field)


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` → ``(size, size, 3)`` (bilinear)."""
    from PIL import Image

    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def resize_map(anomaly_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """Float ``(h, w)`` map → ``(height, width)`` float32 (bilinear)."""
    from PIL import Image

    if anomaly_map.shape == (height, width):
        return anomaly_map.astype(np.float32, copy=False)
    resized = Image.fromarray(anomaly_map.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32)
