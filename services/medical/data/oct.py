"""Built-in retinal OCT set: B-scan phantoms with the retina's layered structure, and fluid / drusen defects.

A B-scan ``(H, W)`` is rendered from per-column layer boundaries (vitreous, NFL, GCL, IPL, INL, OPL, ONL,
ellipsoid zone, RPE, choroid) that curve, undulate and dip at a randomly placed fovea; each layer has its
reflectivity, the image is blurred (axial resolution) and multiplied by gamma speckle. Defects (test only)
change the anatomy and give exact masks: ``fluid`` (intraretinal cysts: dark ellipses in INL / ONL),
``subretinal`` (a dark dome between the photoreceptors and the RPE that lifts the retina above it) and
``drusen`` (RPE elevations filled with medium-reflective material).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from services.medical.data.common import SliceSet

__all__ = ["OCT_DEFECTS", "oct_bscan", "oct_set"]

OCT_DEFECTS: tuple[str, ...] = ("fluid", "subretinal", "drusen")
# (thickness in pixels at 160 rows, reflectivity) from the vitreous down; the last layer fills the rest.
_LAYERS = ((10, 0.75), (7, 0.42), (7, 0.55), (6, 0.25), (5, 0.5), (14, 0.18), (3, 0.85), (4, 0.2), (5, 0.95))
_CHOROID = 0.45


def _boundaries(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Top boundaries ``(L + 1, W)`` (rows) of the vitreous-retina interface and each following layer."""
    x = np.linspace(-1, 1, w)
    scale = h / 160
    top = h * rng.uniform(0.25, 0.35) + h * rng.uniform(0.0, 0.12) * x**2 + h * rng.uniform(-0.05, 0.05) * x
    top += ndimage.gaussian_filter1d(rng.normal(0, 1.0, w), 12) * 3 * scale
    fovea, width = rng.uniform(-0.3, 0.3), rng.uniform(0.12, 0.2)
    pit = np.exp(-(((x - fovea) / width) ** 2))
    bounds = [top]
    for i, (thickness, _) in enumerate(_LAYERS):
        t = thickness * scale * rng.uniform(0.85, 1.15) * np.ones(w)
        if i <= 4:  # inner layers thin out at the fovea, the outer nuclear layer thickens
            t *= 1 - 0.8 * pit
        elif i == 5:
            t *= 1 + 0.6 * pit
        bounds.append(bounds[-1] + t + ndimage.gaussian_filter1d(rng.normal(0, 0.3, w), 8) * scale)
    stacked = np.stack(bounds)
    nominal = sum(t for t, _ in _LAYERS) * scale
    return stacked - (stacked[-1] - (top + nominal))[None]  # the RPE follows the eye's curve; the fovea dips


def _render(bounds: np.ndarray, h: int, rng: np.random.Generator) -> np.ndarray:
    rows = np.arange(h)[:, None]
    image = np.full((h, bounds.shape[1]), 0.04)
    for i, (_, reflect) in enumerate(_LAYERS):
        image[(rows >= bounds[i]) & (rows < bounds[i + 1])] = reflect
    below = rows >= bounds[-1]
    depth = np.clip((rows - bounds[-1]) / (0.25 * h), 0, None)
    image = np.where(below, _CHOROID * np.exp(-depth) + 0.05, image)
    return image


def _finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Axial blur, gamma speckle and gain -> [0, 1]."""
    blurred = ndimage.gaussian_filter(image, (1.0, 0.6))
    speckle = rng.gamma(4.0, 1 / 4.0, image.shape)
    return np.clip(blurred * speckle * rng.uniform(0.9, 1.1), 0, 1).astype(np.float32)


def oct_bscan(rng: np.random.Generator, h: int = 160, w: int = 256, defect: str | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """One B-scan ``(h, w)`` in [0, 1] and its defect mask (all False when ``defect`` is None)."""
    bounds = _boundaries(rng, h, w)
    mask = np.zeros((h, w), bool)
    rows, cols = np.mgrid[:h, :w]
    centre = int(rng.integers(w // 5, 4 * w // 5))
    half = int(rng.integers(w // 20, w // 7))
    x = np.arange(w)
    bump = np.clip(1 - ((x - centre) / half) ** 2, 0, None)
    if defect == "subretinal":
        lift = bump * rng.uniform(6, 16) * h / 160
        fluid_top = bounds[7] - lift  # the photoreceptors and everything above move up
        bounds[:8] = bounds[:8] - lift
        mask = (rows >= fluid_top) & (rows < bounds[7] + lift) & (bump > 0)[None]
        mask &= rows < bounds[8]
    elif defect == "drusen":
        for _ in range(int(rng.integers(1, 4))):
            c, r = rng.integers(w // 6, 5 * w // 6), rng.integers(w // 40, w // 12)
            b = np.clip(1 - ((x - c) / r) ** 2, 0, None) ** 0.7 * rng.uniform(4, 10) * h / 160
            old = bounds[8].copy()
            bounds[7:9] = bounds[7:9] - b
            mask |= (rows >= bounds[8]) & (rows < old) & (b > 0.5)[None]
    image = _render(bounds, h, rng)
    if defect == "subretinal":
        image[mask] = 0.03
    elif defect == "drusen":
        image[mask] = rng.uniform(0.45, 0.65)
    elif defect == "fluid":
        for _ in range(int(rng.integers(1, 5))):
            c = int(np.clip(centre + rng.integers(-half, half + 1), 0, w - 1))
            layer = int(rng.choice([3, 5]))
            top, bottom = bounds[layer, c], bounds[layer + 1, c]
            cy = (top + bottom) / 2
            ry = max(1.5, (bottom - top) * rng.uniform(0.5, 1.1))
            rx = ry * rng.uniform(1.0, 2.5)
            cyst = ((rows - cy) / ry) ** 2 + ((cols - c) / rx) ** 2 <= 1
            image[cyst] = 0.03
            mask |= cyst
    return _finish(image, rng), mask


def oct_set(n_train: int = 60, n_val: int = 20, n_test: int = 60, seed: int = 0, h: int = 160,
            w: int = 256) -> SliceSet:
    """OCT B-scans (2-D: channels repeat); test items alternate normal / defect (kinds cycle ``OCT_DEFECTS``)."""
    streams = np.random.default_rng(seed).spawn(3)

    def stack(image: np.ndarray) -> np.ndarray:
        return np.repeat(image[None], 3, axis=0)

    train = np.stack([stack(oct_bscan(streams[0], h, w)[0]) for _ in range(n_train)])
    val = np.stack([stack(oct_bscan(streams[1], h, w)[0]) for _ in range(n_val)])
    test, masks, kinds = [], [], []
    for i in range(n_test):
        kind = OCT_DEFECTS[(i // 2) % len(OCT_DEFECTS)] if i % 2 else "good"
        image, mask = oct_bscan(streams[2], h, w, None if kind == "good" else kind)
        test.append(stack(image))
        masks.append(mask)
        kinds.append(kind)
    zeros = np.zeros
    return SliceSet("oct", train, val, np.stack(test), (np.arange(n_test) % 2).astype(np.int64), np.stack(masks),
                    zeros(n_train, int), zeros(n_val, int), zeros(n_test, int), kinds)
