"""What the hyperspectral servicer needs beside the model: cubes from protobuf, checks, scene summary, overlay PNG.

Every check raises :class:`InvalidInputError` naming the request field and what was expected.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import numpy as np

from polyad.common.v1 import common_pb2
from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
from services.core.calibration import Rule, simes
from services.core.codecs import to_numpy
from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["DecodedCube", "check_cube", "composite_bands", "decode_cube", "overlay_png", "scene_p_value", "split_rows"]

_TENSOR_DTYPES = (common_pb2.DATA_TYPE_FLOAT32, common_pb2.DATA_TYPE_FLOAT64, common_pb2.DATA_TYPE_FLOAT16,
                  common_pb2.DATA_TYPE_INT32, common_pb2.DATA_TYPE_UINT8)


@dataclass(frozen=True)
class DecodedCube:
    """A checked cube ``(H, W, B)`` float32 and its band centres ``(B,)`` in nm when known."""

    data: np.ndarray
    wavelengths: np.ndarray | None
    field: str


async def decode_cube(cube: pb.Cube, max_tensor_bytes: int, max_upload_bytes: int, field: str = "cube"
                      ) -> DecodedCube:
    """The pixels of a ``Cube`` message (tensor or uploaded file), not yet checked against a model."""
    source = cube.WhichOneof("source")
    wavelengths = np.asarray(cube.wavelengths_nm, dtype=np.float64) if len(cube.wavelengths_nm) else None
    if source == "tensor":
        name = f"{field}.tensor"
        array = to_numpy(cube.tensor, name, allowed=_TENSOR_DTYPES, max_bytes=max_tensor_bytes)
        return DecodedCube(array, wavelengths, name)
    if source == "file":
        name = f"{field}.file"
        upload = cube.file
        if len(upload.content) > max_upload_bytes:
            raise LimitExceededError(f"{name}: the upload has {len(upload.content)} bytes; at most {max_upload_bytes} "
                                    "are accepted", name)
        from services.hyperspectral.codec import decode_upload

        try:
            decoded = await asyncio.to_thread(decode_upload, upload.content, upload.filename, upload.variable or None,
                                              None, max_upload_bytes)
        except InvalidInputError as error:
            raise InvalidInputError(f"{name} ({upload.filename or 'no filename'}): {error}", name) from error
        if wavelengths is None and decoded.wavelengths is not None:
            wavelengths = np.asarray(decoded.wavelengths, dtype=np.float64)
        return DecodedCube(decoded.data, wavelengths, name)
    raise InvalidInputError(f"{field} is missing; set {field}.tensor (H, W, bands) or {field}.file (an upload)", field)


def check_cube(cube: DecodedCube, max_pixels: int, bands: int | None = None) -> np.ndarray:
    """``cube.data`` as float32 ``(H, W, B)`` after the rank, size, band-count and finiteness checks."""
    array, name = cube.data, cube.field
    if array.ndim != 3:
        raise InvalidInputError(f"{name}: expected rank 3 (H, W, bands), got shape {list(array.shape)}", name)
    h, w, b = array.shape
    if h * w == 0 or b == 0:
        raise InvalidInputError(f"{name}: the cube is empty (shape {list(array.shape)})", name)
    if h * w > max_pixels:
        raise LimitExceededError(f"{name}: the cube has {h * w} pixels ({h}×{w}); at most {max_pixels} are accepted",
                                name)
    if bands is not None and b != bands:
        raise InvalidInputError(f"{name}: the cube has {b} bands; the model expects {bands} (its input band count "
                                "before band removal)", name)
    if cube.wavelengths is not None and cube.wavelengths.size != b:
        field = name.rpartition(".")[0] + ".wavelengths_nm"
        raise InvalidInputError(f"{field}: {cube.wavelengths.size} wavelengths for {b} bands", field)
    data = array.astype(np.float32, copy=False)
    bad = ~np.isfinite(data)
    if bad.any():
        r, c, k = np.argwhere(bad)[0]
        raise InvalidInputError(f"{name}: {int(bad.sum())} NaN/inf values (first at row {r}, column {c}, band {k}); "
                                "expected finite numbers", name)
    return data


def scene_p_value(p_values: np.ndarray, rule: Rule) -> float:
    """Simes' combination of the pixel p-values (times the harmonic factor for BY): at most ``alpha`` exactly when
    BH (BY) flags at least one pixel. Under ``alpha`` it is reported with BH's factor."""
    return simes(p_values, Rule.BY if rule is Rule.BY else Rule.BH)


def composite_bands(n_bands: int, wavelengths: np.ndarray | None, avoid: set[int]) -> tuple[int, int, int]:
    """Input bands (R, G, B) of a false-colour composite: nearest to 650 / 550 / 460 nm when the band centres are
    known and cover the visible, else bands at 60 % / 35 % / 10 % of the band range; ``avoid`` (bad bands) skipped."""
    if wavelengths is not None and wavelengths.max() < 100:  # micrometres (ENVI headers often use them)
        wavelengths = wavelengths * 1000.0
    usable = np.array([b for b in range(n_bands) if b not in avoid] or list(range(n_bands)))
    if wavelengths is not None and wavelengths.min() <= 500 and wavelengths.max() >= 620:
        targets = [int(np.argmin(np.abs(wavelengths - nm))) for nm in (650.0, 550.0, 460.0)]
    else:
        targets = [round(f * (n_bands - 1)) for f in (0.6, 0.35, 0.1)]
    r, g, b = (int(usable[np.argmin(np.abs(usable - t))]) for t in targets)
    return r, g, b


def _stretch(channel: np.ndarray) -> np.ndarray:
    low, high = np.percentile(channel, [2, 98])
    return np.clip((channel - low) / max(high - low, 1e-12), 0.0, 1.0)


_STOPS = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0], [128, 0, 0]], float)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_STOPS)), _STOPS[:, c]) for c in range(3)],
                axis=1).astype(np.uint8)


def overlay_png(cube: np.ndarray, anomaly_map: np.ndarray, bands: tuple[int, int, int], low: float, high: float,
                flagged: np.ndarray | None = None, min_side: int = 256, opacity: float = 0.6) -> bytes:
    """PNG of ``anomaly_map`` ``(H, W)`` over the false-colour composite of ``cube`` ``(H, W, B)``.

    Map values at or below ``low`` stay transparent; ``low``..``high`` spread over a blue → red ramp; ``flagged``
    ``(H, W)`` bool pixels are outlined in white. Enlarged by an integer factor until the shorter side ≥ ``min_side``.
    """
    from PIL import Image
    from scipy import ndimage

    rgb = np.stack([_stretch(cube[..., b]) for b in bands], axis=-1) * 255.0
    scaled = np.clip((anomaly_map - low) / max(high - low, 1e-12), 0.0, 1.0)
    alpha = opacity * (scaled > 0)[..., None]
    out = (1 - alpha) * rgb + alpha * _LUT[(scaled * 255).astype(np.uint8)].astype(float)
    factor = max(1, -(-min_side // max(1, min(anomaly_map.shape))))
    out = np.repeat(np.repeat(out, factor, axis=0), factor, axis=1)
    if flagged is not None and flagged.any():
        big = np.repeat(np.repeat(flagged.astype(bool), factor, axis=0), factor, axis=1)
        out[big & ~ndimage.binary_erosion(big)] = 255.0
    buffer = io.BytesIO()
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def split_rows(cube: np.ndarray, fraction: float, min_rows: int, min_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, calibration): the bottom ``fraction`` of the cube's rows is a held-out spatial block.

    A spatial block, not random pixels, because the detector takes a cube (the spatial branch reads each
    pixel's neighbourhood); the block's pixels are never fitted, so their scores calibrate as a new scene's would.
    """
    h, w, _ = cube.shape
    held = max(min_rows, round(h * fraction))
    if h * w < min_pixels or h - held < 3:
        raise InvalidInputError(f"cube: a {h}×{w} cube is too small to fit and calibrate on; Fit needs at least "
                                f"{min_pixels} pixels and {held + 3} rows ({held} held out for calibration)", "cube")
    return cube[: h - held], cube[h - held:]
