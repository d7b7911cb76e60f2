"""A second defect suite, written apart from :mod:`services.vision.defects` and :mod:`services.vision.synthesis`.

It shares no generator with either: regions are star-shaped blobs (a random radial profile), and the six
kinds change the image in ways those modules never do. Every function paints at the model resolution on
``img (S, S, 3)`` uint8 and returns the float image and the exact bool mask ``(S, S)`` of changed pixels:

- ``blur``: the region is Gaussian-blurred (sigma 2-4 px): texture detail lost, colour kept;
- ``colour_shift``: the region's hue is rotated by 40-140 degrees and its saturation raised;
- ``foreign``: a piece of another real photograph (scikit-image ``coffee`` or ``chelsea``) fills the region;
- ``small_blot``: a dark or bright dot of radius 1.5-3 px (a few pixels at model resolution);
- ``thin_line``: a straight or bowed 1-px line, half-contrast against the local mean;
- ``missing``: material is gone: the region shows a flat backing colour with a soft shadowed edge.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage import color

__all__ = ["HOLDOUT_DEFECTS", "HOLDOUT_KINDS", "SMALL_KINDS"]

HOLDOUT_KINDS: tuple[str, ...] = ("blur", "colour_shift", "foreign", "small_blot", "thin_line", "missing")
SMALL_KINDS: tuple[str, ...] = ("small_blot", "thin_line")
"""Kinds a few pixels wide at model resolution (the small-defect row)."""

Painter = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _blob(size: int, rng: np.random.Generator, radius: tuple[float, float]) -> np.ndarray:
    """A star-shaped region ``(size, size)`` bool: radius varies smoothly with angle (5 random harmonics)."""
    cy, cx = rng.uniform(0.2, 0.8, 2) * size
    base = rng.uniform(*radius) * size
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    theta = np.arctan2(yy - cy, xx - cx)
    wobble = sum(rng.uniform(0, 0.25) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in range(1, 6))
    return np.hypot(yy - cy, xx - cx) <= base * (1 + wobble)


def _blur(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    region = _blob(img.shape[0], rng, (0.07, 0.14))
    sigma = rng.uniform(2.0, 4.0)
    blurred = np.stack([ndimage.gaussian_filter(img[..., c].astype(np.float64), sigma) for c in range(3)], -1)
    out = img.astype(np.float64)
    out[region] = blurred[region]
    return out, region


def _colour_shift(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    region = _blob(img.shape[0], rng, (0.06, 0.12))
    hsv = color.rgb2hsv(img)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(40, 140) / 360) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] + rng.uniform(0.25, 0.5), 0, 1)
    out = img.astype(np.float64)
    out[region] = 255 * color.hsv2rgb(hsv)[region]
    return out, region


@functools.cache
def _foreign_sources() -> tuple[np.ndarray, ...]:
    import skimage.data  # local files of the wheel: no download

    return skimage.data.coffee(), skimage.data.chelsea()


def _foreign(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    region = _blob(s, rng, (0.05, 0.1))
    source = _foreign_sources()[int(rng.integers(2))]
    y, x = rng.integers(0, source.shape[0] - s), rng.integers(0, source.shape[1] - s)
    out = img.astype(np.float64)
    out[region] = source[y : y + s, x : x + s][region]
    return out, region


def _small_blot(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    cy, cx = rng.uniform(0.1, 0.9, 2) * s
    r = rng.uniform(1.5, 3.0)
    yy, xx = np.mgrid[:s, :s]
    region = np.hypot(yy - cy, xx - cx) <= r
    out = img.astype(np.float64)
    out[region] = rng.uniform(0, 30) if img[region].mean() > 110 else rng.uniform(225, 255)
    return out, region


def _thin_line(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    start, end = rng.uniform(0.1, 0.9, (2, 2)) * s
    while np.hypot(*(end - start)) < 0.3 * s:
        end = rng.uniform(0.1, 0.9, 2) * s
    bow = rng.normal(0, 0.08) * s * np.array([-(end - start)[1], (end - start)[0]]) / np.hypot(*(end - start))
    t = np.linspace(0, 1, 24)[:, None]
    points = (1 - t) * start + t * end + 4 * t * (1 - t) * bow
    canvas = Image.new("L", (s, s), 0)
    ImageDraw.Draw(canvas).line([tuple(p) for p in points], fill=255, width=1)
    region = np.asarray(canvas) > 0
    mean = img.astype(np.float64).mean()
    out = img.astype(np.float64)
    target = 0.0 if mean > 110 else 255.0
    out[region] = 0.5 * out[region] + 0.5 * target
    return out, region


def _missing(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    region = _blob(img.shape[0], rng, (0.06, 0.12))
    backing = np.percentile(img.reshape(-1, 3), rng.choice([2, 98]), axis=0)
    inside = ndimage.distance_transform_edt(region)
    shade = 1 - 0.35 * np.exp(-inside / 3.0)  # darker near the edge: the rim of the missing piece
    out = img.astype(np.float64)
    out[region] = backing * shade[region, None] + rng.normal(0, 3, (int(region.sum()), 3))
    return out, region


HOLDOUT_DEFECTS: dict[str, Painter] = {
    "blur": _blur,
    "colour_shift": _colour_shift,
    "foreign": _foreign,
    "small_blot": _small_blot,
    "thin_line": _thin_line,
    "missing": _missing,
}
