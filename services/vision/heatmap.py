"""Heat-map overlays: an anomaly map blended over its image, as PNG bytes."""

from __future__ import annotations

import io

import numpy as np

__all__ = ["colorize", "heatmap_png"]

# A compact "jet"-like colour ramp: blue → cyan → yellow → red, 256 entries.
_STOPS = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0], [128, 0, 0]], float)
_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_STOPS)), _STOPS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)


def colorize(anomaly_map: np.ndarray, low: float, high: float) -> np.ndarray:
    """Float ``(H, W)`` → RGB uint8 ``(H, W, 3)``, ``low``..``high`` spread over the ramp."""
    scaled = np.clip((anomaly_map - low) / max(high - low, 1e-12), 0.0, 1.0)
    return _LUT[(scaled * 255).astype(np.uint8)]


def heatmap_png(image: np.ndarray, anomaly_map: np.ndarray, low: float, high: float, opacity: float = 0.5) -> bytes:
    """PNG of ``anomaly_map`` ``(H, W)`` coloured over ``image`` ``(H, W, 3)`` uint8."""
    from PIL import Image

    blended = (1 - opacity) * image.astype(float) + opacity * colorize(anomaly_map, low, high).astype(float)
    buffer = io.BytesIO()
    Image.fromarray(blended.clip(0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
