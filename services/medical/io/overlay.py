"""PNG overlays of an anomaly map on its slice (display orientation), and a grid of the most anomalous slices."""

from __future__ import annotations

import io

import numpy as np

from services.medical.volume import slice_to_display

__all__ = ["overlay_png", "volume_overlays"]

_STOPS = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0], [128, 0, 0]], float)
_LUT = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_STOPS)), _STOPS[:, c]) for c in range(3)],
                axis=1).astype(np.uint8)


def overlay_png(image: np.ndarray, anomaly_map: np.ndarray, low: float, high: float, opacity: float = 0.5,
                mask: np.ndarray | None = None) -> bytes:
    """PNG bytes of ``anomaly_map (H, W)`` coloured over grayscale ``image (H, W)`` in [0, 1].

    Map values below ``low`` stay transparent; ``mask (H, W)`` bool (a flagged region) is outlined in white.
    """
    from PIL import Image
    from scipy import ndimage

    gray = np.repeat((np.clip(image, 0, 1) * 255)[..., None], 3, axis=2)
    scaled = np.clip((anomaly_map - low) / max(high - low, 1e-12), 0.0, 1.0)
    colour = _LUT[(scaled * 255).astype(np.uint8)].astype(float)
    alpha = opacity * (scaled > 0)[..., None]
    out = (1 - alpha) * gray + alpha * colour
    if mask is not None and mask.any():
        edge = mask & ~ndimage.binary_erosion(mask)
        out[edge] = 255
    buffer = io.BytesIO()
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def volume_overlays(intensity: np.ndarray, anomaly_map: np.ndarray, slices: list[int], low: float, high: float,
                    flagged: np.ndarray | None = None) -> list[bytes]:
    """One PNG per axial slice index of RAS arrays ``(X, Y, Z)`` (intensity in [0, 1]), display orientation."""
    return [overlay_png(slice_to_display(intensity[:, :, k]), slice_to_display(anomaly_map[:, :, k]), low, high,
                        mask=None if flagged is None else slice_to_display(flagged[:, :, k])) for k in slices]
