"""Intensity handling per modality: CT windowing (named presets or explicit center/width) and normalisation.

Every detector input is float32 in [0, 1]. CT: a window ``(center, width)`` in HU maps
``[center - width/2, center + width/2]`` linearly onto [0, 1] (clipped), as PACS viewers do. MR, OCT and
other modalities have no absolute scale: the foreground's ``low``..``high`` percentiles map onto [0, 1].
"""

from __future__ import annotations

import numpy as np

__all__ = ["WINDOW_PRESETS", "apply_window", "normalise", "percentile_scale", "resolve_window"]

#: Named CT windows, (center, width) in HU.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "liver": (60.0, 160.0),
    "abdomen": (40.0, 400.0),
    "soft_tissue": (50.0, 350.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
}


def resolve_window(preset: str = "", center: float | None = None, width: float | None = None) -> tuple[float, float]:
    """``(center, width)`` from a preset name or explicit values; raises ``ValueError`` naming the presets."""
    if center is not None or width is not None:
        if center is None or width is None or not np.isfinite([center, width]).all() or width <= 0:
            raise ValueError(f"a window needs a finite center and a width > 0, got center={center}, width={width}")
        return float(center), float(width)
    key = preset.strip().lower().replace("-", "_").replace("/", "_")
    if key in ("liver_abdomen", "abdominal"):
        key = "abdomen"
    if key not in WINDOW_PRESETS:
        raise ValueError(f"unknown window preset {preset!r}; known: {', '.join(WINDOW_PRESETS)}")
    return WINDOW_PRESETS[key]


def apply_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """HU (any shape) -> float32 in [0, 1] through the window ``(center, width)``."""
    low = center - width / 2.0
    return np.clip((np.asarray(values, np.float32) - low) / width, 0.0, 1.0).astype(np.float32)


def percentile_scale(
    values: np.ndarray, low: float = 0.5, high: float = 99.5, floor: float | None = None
) -> np.ndarray:
    """Map the ``low``..``high`` percentiles of the foreground (``> floor``; all voxels when None) onto [0, 1]."""
    values = np.asarray(values, np.float32)
    fg = values[values > floor] if floor is not None else values.ravel()
    if fg.size == 0:
        return np.zeros_like(values)
    lo, hi = np.percentile(fg, [low, high])
    if floor is not None:
        lo = min(lo, 0.0) if floor <= 0 else lo
    return np.clip((values - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0).astype(np.float32)


def normalise(values: np.ndarray, modality: str, window: tuple[float, float] | None = None) -> np.ndarray:
    """Per-modality intensity normalisation of a volume ``(X, Y, Z)`` -> float32 [0, 1].

    CT (or any volume given a ``window``): windowing. MR: zero stays zero (skull-stripped background), the
    99.5th percentile of the non-zero voxels maps to 1. Others (OCT, photographs): 0.5th..99.5th percentile.
    """
    if window is not None:
        return apply_window(values, *window)
    kind = modality.upper()
    if kind == "CT":
        return apply_window(values, *WINDOW_PRESETS["abdomen"])
    if kind == "MR":
        return percentile_scale(values, 0.0, 99.5, floor=0.0)
    return percentile_scale(values, 0.5, 99.5)
