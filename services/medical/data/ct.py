"""Built-in liver-CT set: abdominal CT phantom slices in HU built around real pieces of pydicom's test files.

Each slice (``size`` square, HU) has air, a body ellipse with a subcutaneous fat rim and muscle, the real
vertebra of ``CT_small.dcm`` (its HU values, pasted at the posterior midline), an aorta, kidneys, and the
liver: the silhouette of the liver DICOM-SEG (``liver_1frame.dcm``) randomly rotated, scaled and elastically
deformed, at 50-70 HU with texture and contrast-filled vessels; Gaussian noise of about 12 HU. Both pydicom
files are read from the installed wheel (``get_testdata_file(..., download=False)``). Test lesions are
implanted inside the liver at absolute HU (hypodense 5-35, hyperdense 95-135, ring, mixed) and everything is
shown through the liver window (center 60, width 160).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from services.medical.data.common import MissingDataError, SliceSet
from services.medical.data.lesions import implant_lesion
from services.medical.windowing import WINDOW_PRESETS, apply_window

__all__ = ["ct_phantom", "ct_set", "pydicom_test_file"]


def pydicom_test_file(name: str) -> str:
    """Path of a file shipped in pydicom's wheel, offline only; a clear error when absent."""
    try:
        from pydicom.data import get_testdata_file
    except ImportError as error:
        raise MissingDataError("pydicom's test files ship with pydicom: pip install pydicom") from error
    path = get_testdata_file(name, download=False)
    if path is None:
        raise MissingDataError(f"pydicom test file {name!r} is not in the installed wheel (reinstall pydicom)")
    return str(path)


@functools.cache
def _sources() -> tuple[np.ndarray, np.ndarray]:
    """(vertebra HU patch from CT_small ``(h, w)``, liver silhouette bool cropped to its bounding box)."""
    import pydicom

    ct = pydicom.dcmread(pydicom_test_file("CT_small.dcm"))
    hu = ct.pixel_array.astype(np.float32) * float(ct.RescaleSlope) + float(ct.RescaleIntercept)
    seg = pydicom.dcmread(pydicom_test_file("liver_1frame.dcm")).pixel_array.astype(bool)
    seg = seg[0] if seg.ndim == 3 else seg
    rows, cols = np.flatnonzero(seg.any(1)), np.flatnonzero(seg.any(0))
    return hu[8:100, 24:104], seg[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _place(canvas_shape: tuple[int, int], patch: np.ndarray, top: int, left: int, order: int) -> np.ndarray:
    out = np.zeros(canvas_shape, patch.dtype)
    h, w = min(patch.shape[0], canvas_shape[0] - top), min(patch.shape[1], canvas_shape[1] - left)
    out[top : top + h, left : left + w] = patch[:h, :w]
    return out


def ct_phantom(rng: np.random.Generator, size: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """One normal abdominal slice ``(size, size)`` HU and its liver mask (display orientation)."""
    vertebra, liver_shape = _sources()
    shape = (size, size)
    hu = np.full(shape, -1000.0)
    cy, cx = size * rng.uniform(0.5, 0.54), size * rng.uniform(0.48, 0.52)
    ry, rx = size * rng.uniform(0.3, 0.34), size * rng.uniform(0.42, 0.46)
    body = _ellipse(shape, cy, cx, ry, rx)
    inner = _ellipse(shape, cy, cx, ry - size * rng.uniform(0.03, 0.05), rx - size * rng.uniform(0.03, 0.05))
    hu[body] = -100.0
    hu[inner] = 40.0
    scale = size / 192 * rng.uniform(0.9, 1.05)
    vert = ndimage.zoom(vertebra, 0.55 * scale, order=1)
    top = int(cy + ry - vert.shape[0] - size * 0.05)
    spine = _place(shape, vert, top, int(cx - vert.shape[1] / 2), 1)
    region = _place(shape, vert > -300, top, int(cx - vert.shape[1] / 2), 0) & inner
    hu[region] = spine[region]
    for side in (-1, 1):  # kidneys
        hu[_ellipse(shape, top + size * 0.05, cx + side * size * 0.17, size * 0.06, size * 0.04)] = 30.0
    hu[_ellipse(shape, top - size * 0.04, cx + size * 0.04, size * 0.03, size * 0.03)] = 160.0  # aorta
    hu[_ellipse(shape, cy - ry * 0.2, cx + rx * 0.45, size * 0.09, size * 0.07)] = rng.choice([-900.0, 10.0])
    angle = rng.uniform(-10, 10)
    liver = ndimage.rotate(liver_shape.astype(float), angle, reshape=True, order=1)
    zoom = size * rng.uniform(0.42, 0.5) / liver.shape[1]
    liver = ndimage.zoom(liver, (zoom * rng.uniform(0.9, 1.1), zoom), order=1)
    displacement = [ndimage.gaussian_filter(rng.normal(0, 1, liver.shape), 8) * 40 for _ in range(2)]
    grid = np.mgrid[: liver.shape[0], : liver.shape[1]].astype(float)
    liver = ndimage.map_coordinates(liver, grid + np.stack(displacement), order=1) > 0.5
    liver_mask = _place(shape, liver, int(cy - ry * 0.75), int(cx - rx * 0.9), 0) & inner
    tissue = rng.uniform(50, 70) + 6 * ndimage.gaussian_filter(rng.normal(0, 1, shape), 2) * 2
    hu[liver_mask] = tissue[liver_mask]
    vessels = np.argwhere(ndimage.binary_erosion(liver_mask, iterations=6))
    for y, x in vessels[rng.choice(len(vessels), size=min(len(vessels), int(rng.integers(2, 6))), replace=False)]:
        vessel = _ellipse(shape, y, x, rng.uniform(1.5, 3.5), rng.uniform(1.5, 3.5)) & liver_mask
        hu[vessel] = rng.uniform(120, 170)
    hu = ndimage.gaussian_filter(hu, 0.7) + rng.normal(0, 12, shape)
    return hu.astype(np.float32), liver_mask


def ct_set(n_train: int = 60, n_val: int = 20, n_test: int = 60, seed: int = 0, size: int = 192) -> SliceSet:
    """Liver-CT slices through the liver window; test items alternate normal / lesion (2-D: channels repeat)."""
    window = WINDOW_PRESETS["liver"]
    streams = np.random.default_rng(seed).spawn(3)

    def stack(image: np.ndarray) -> np.ndarray:
        return np.repeat(apply_window(image, *window)[None], 3, axis=0)

    train = np.stack([stack(ct_phantom(streams[0], size)[0]) for _ in range(n_train)])
    val = np.stack([stack(ct_phantom(streams[1], size)[0]) for _ in range(n_val)])
    test, masks, kinds = [], [], []
    rng = streams[2]
    for i in range(n_test):
        hu, liver = ct_phantom(rng, size)
        mask, kind = np.zeros(hu.shape, bool), "good"
        if i % 2:
            hu, mask, kind = implant_lesion(hu, liver, rng, radius=(size * 0.02, size * 0.08),
                                            contrast=((5.0, 35.0), (95.0, 135.0)), absolute=True,
                                            texture_sd=0.1, mass_effect=(0.0, 0.2))
        test.append(stack(hu))
        masks.append(mask)
        kinds.append(kind)
    zeros = np.zeros
    return SliceSet("ct", train, val, np.stack(test), (np.arange(n_test) % 2).astype(np.int64), np.stack(masks),
                    zeros(n_train, int), zeros(n_val, int), zeros(n_test, int), kinds)
