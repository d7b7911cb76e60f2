"""Evaluation lesions implanted into real or phantom anatomy, with exact masks (2-D or 3-D, any array).

A lesion is a smooth star-shaped body (an ellipsoid whose radius is modulated by a few random plane waves
over the direction), filled with a filtered-noise texture and one of four patterns: ``hypo`` (darker),
``hyper`` (brighter), ``ring`` (bright rim, dark core) or ``mixed``; optionally it pushes the surrounding
tissue outwards (mass effect: a radial warp decaying with distance). The mask is the body (soft edge > 0.5)
inside the organ. This generator shares nothing with the train-time synthesis of
:mod:`services.medical.synthesis` (Perlin masks, plasma / constant / rescaled fillings).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["LESION_KINDS", "implant_lesion"]

LESION_KINDS: tuple[str, ...] = ("hypo", "hyper", "ring", "mixed")


def _body(offsets: np.ndarray, radii: np.ndarray, rng: np.random.Generator, softness: float) -> np.ndarray:
    """Soft membership in [0, 1] of points ``offsets (D, ...)`` (voxels from the centre) in a star-shaped body."""
    scaled = offsets / radii.reshape(-1, *([1] * (offsets.ndim - 1)))
    r = np.sqrt((scaled**2).sum(0)) + 1e-9
    unit = scaled / r
    boundary = np.ones_like(r)
    for _ in range(int(rng.integers(2, 5))):
        direction = rng.normal(size=len(radii))
        direction /= np.linalg.norm(direction)
        proj = np.tensordot(direction, unit, axes=1)
        boundary += rng.uniform(0.05, 0.2) * np.cos(rng.uniform(1.0, 3.0) * np.pi * proj + rng.uniform(0, 2 * np.pi))
    return 1.0 / (1.0 + np.exp(-(boundary - r) / softness))


def _texture(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-sd Gaussian-filtered white noise."""
    t = ndimage.gaussian_filter(rng.normal(size=shape), rng.uniform(0.8, 2.5))
    return (t - t.mean()) / (t.std() + 1e-9)


def implant_lesion(
    image: np.ndarray,
    organ: np.ndarray,
    rng: np.random.Generator,
    radius: tuple[float, float] = (3.0, 12.0),
    contrast: tuple[tuple[float, float], tuple[float, float]] = ((0.25, 0.6), (1.35, 1.8)),
    absolute: bool = False,
    texture_sd: float = 0.08,
    mass_effect: tuple[float, float] = (0.0, 0.35),
    centre: tuple[int, ...] | None = None,
    kind: str | None = None,
    spacing: tuple[float, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Implant one lesion -> (image copy, bool mask, kind).

    ``image`` and ``organ`` (bool) share a 2-D or 3-D shape. ``radius`` is in voxels along the first axis
    (``spacing`` scales the others). ``contrast`` gives (dark, bright) ranges: multiplicative factors of the
    local tissue, or absolute values when ``absolute`` (e.g. HU). ``centre`` defaults to a random organ voxel
    at least one minimum radius inside the organ.
    """
    kind = kind or LESION_KINDS[int(rng.integers(len(LESION_KINDS)))]
    if kind not in LESION_KINDS:
        raise ValueError(f"unknown lesion kind {kind!r}; known: {LESION_KINDS}")
    d = image.ndim
    spacing = np.asarray(spacing or (1.0,) * d, float)
    base_r = rng.uniform(*radius)
    radii = base_r * spacing[0] / spacing * rng.uniform(0.7, 1.3, d)
    if centre is None:
        inner = ndimage.binary_erosion(organ, iterations=max(1, int(radius[0])))
        candidates = np.argwhere(inner if inner.any() else organ)
        if len(candidates) == 0:
            raise ValueError("the organ mask is empty: nowhere to implant a lesion")
        centre = tuple(candidates[rng.integers(len(candidates))])
    c = np.asarray(centre, float)
    reach = np.ceil(radii * 2.5).astype(int) + 2
    lo = np.maximum(np.asarray(centre) - reach, 0)
    hi = np.minimum(np.asarray(centre) + reach + 1, image.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    grid = np.stack(np.meshgrid(*[np.arange(a, b, dtype=float) for a, b in zip(lo, hi, strict=True)], indexing="ij"))
    offsets = grid - c.reshape(-1, *([1] * d))
    out = image.astype(np.float64, copy=True)
    region = out[box]
    amp = rng.uniform(*mass_effect)
    if amp > 0:  # sample closer to the centre near the lesion: tissue is pushed outwards
        dist = np.sqrt(((offsets / radii.reshape(-1, *([1] * d))) ** 2).sum(0))
        shrink = 1.0 - amp * np.exp(-((dist / 1.8) ** 2))
        coords = c.reshape(-1, *([1] * d)) + offsets * shrink - lo.reshape(-1, *([1] * d))
        region = ndimage.map_coordinates(region, coords, order=1, mode="nearest")
    alpha = _body(offsets, radii, rng, softness=0.08)
    tissue = np.median(region[organ[box]]) if organ[box].any() else float(np.median(region))
    dark = rng.uniform(*contrast[0])
    bright = rng.uniform(*contrast[1])
    level = {"hypo": dark, "hyper": bright, "ring": dark, "mixed": 0.5 * (dark + bright)}[kind]
    fill = level if absolute else level * tissue
    texture = _texture(region.shape, rng)
    scale = texture_sd * (abs(bright - dark) if absolute else tissue)
    if kind == "mixed":
        filling = np.where(texture > 0, bright, dark) * (1.0 if absolute else tissue) + scale * texture
    else:
        filling = fill + scale * texture
    if kind == "ring":
        core = _body(offsets, radii * rng.uniform(0.45, 0.7), np.random.default_rng(int(rng.integers(1 << 31))), 0.08)
        rim = bright if absolute else bright * tissue
        filling = core * filling + (1 - core) * (rim + scale * texture)
    region = (1 - alpha) * region + alpha * filling
    out[box] = np.where(organ[box] | (alpha > 0.5), region, out[box])
    mask = np.zeros(image.shape, bool)
    mask[box] = (alpha > 0.5) & organ[box]
    return out.astype(image.dtype), mask, kind
