"""Image decoding for the vision service: real PNG/JPEG files, conversions, and every rejection."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from polyad.vision.v1 import vision_pb2
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError
from services.vision.codec import decode_image, resize_image, resize_map
from services.vision.heatmap import heatmap_png

RNG = np.random.default_rng(0)


def encoded(array: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> vision_pb2.Image:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format=fmt)
    return vision_pb2.Image(encoded=buffer.getvalue())


def test_rgb_gray_rgba_and_jpeg_become_rgb() -> None:
    rgb = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(encoded(rgb), "img", 10_000), rgb)
    gray = RNG.integers(0, 256, (20, 30), dtype=np.uint8)
    out = decode_image(encoded(gray), "img", 10_000)
    assert out.shape == (20, 30, 3) and (out[..., 0] == gray).all()
    rgba = np.dstack([rgb, np.full((20, 30), 255, np.uint8)])
    np.testing.assert_array_equal(decode_image(encoded(rgba), "img", 10_000), rgb)
    assert decode_image(encoded(rgb, fmt="JPEG"), "img", 10_000).shape == (20, 30, 3)
    pixels = vision_pb2.Image(pixels=from_numpy(rgb.astype(np.float32) / 255.0))
    np.testing.assert_array_equal(decode_image(pixels, "img", 10_000), rgb)
    assert decode_image(vision_pb2.Image(pixels=from_numpy(gray)), "img", 10_000).shape == (20, 30, 3)


def _gray_alpha_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("LA", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_bytes() -> bytes:
    return encoded(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).encoded


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        (vision_pb2.Image(encoded=b"definitely not an image"), "not a PNG or JPEG"),
        (vision_pb2.Image(encoded=_png_bytes()[:300]), "truncated"),
        (vision_pb2.Image(encoded=b""), "empty"),
        (vision_pb2.Image(), "no content"),
        (vision_pb2.Image(encoded=_gray_alpha_png()), "2 channels"),
        (vision_pb2.Image(pixels=from_numpy(np.zeros((8, 8, 2), np.uint8))), "2 channels"),
        (vision_pb2.Image(pixels=from_numpy(np.zeros((0, 8, 3), np.uint8))), "zero-size"),
        (vision_pb2.Image(pixels=from_numpy(np.full((8, 8, 3), 2.0, np.float32))), "[0, 1]"),
        (vision_pb2.Image(pixels=from_numpy(np.zeros((8, 8, 3), np.int32))), "not accepted"),
        (encoded(np.zeros((200, 200, 3), np.uint8)), "limit"),
    ],
)
def test_bad_images_are_invalid_input(image: vision_pb2.Image, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        decode_image(image, "images[0]", max_pixels=100 * 100)
    assert fragment in str(caught.value) and "images[0]" in str(caught.value)


def test_resizing_and_heatmap() -> None:
    image = RNG.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    assert resize_image(image, 32).shape == (32, 32, 3)
    assert resize_map(np.ones((8, 8), np.float32), 40, 60).shape == (40, 60)
    png = heatmap_png(image, np.linspace(0, 1, 2400, dtype=np.float32).reshape(40, 60), 0.0, 1.0)
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert decoded.shape == (40, 60, 3)
    assert decoded[-1, :, 0].mean() > decoded[0, :, 0].mean() + 30  # hot (red) where the map is high
