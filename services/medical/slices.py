"""Volumes <-> detector batches: 2.5D slice stacks in display orientation, and slice maps back to a 3-D map.

A 2.5D stack of axial slice ``k`` is ``(3, H, W)``: slices ``k - d``, ``k``, ``k + d`` (clamped at the ends) as
channels, each in the display orientation of :mod:`services.medical.volume`. A 2-D image (``Z = 1``) repeats
its one slice, i.e. grayscale -> 3 channels.
"""

from __future__ import annotations

import numpy as np

from services.medical.volume import display_to_slice, slice_to_display

__all__ = ["foreground_fraction", "maps_to_volume", "slice_stacks"]


def slice_stacks(volume: np.ndarray, offset: int = 1, indices: list[int] | np.ndarray | None = None) -> np.ndarray:
    """Normalised volume ``(X, Y, Z)`` in [0, 1] -> 2.5D stacks ``(n, 3, Y, X)`` float32 for slices ``indices``."""
    z = volume.shape[2]
    ks = np.arange(z) if indices is None else np.asarray(indices, dtype=int)
    lower, upper = np.clip(ks - offset, 0, z - 1), np.clip(ks + offset, 0, z - 1)
    picked = np.stack([volume[:, :, lower], volume[:, :, ks], volume[:, :, upper]], axis=0)  # (3, X, Y, n)
    return np.ascontiguousarray(slice_to_display(np.moveaxis(picked, -1, 0)), dtype=np.float32)


def maps_to_volume(maps: np.ndarray) -> np.ndarray:
    """Slice maps ``(Z, Y, X)`` in display orientation -> a map ``(X, Y, Z)`` aligned with the volume."""
    return np.ascontiguousarray(np.moveaxis(display_to_slice(maps), 0, -1), dtype=np.float32)


def foreground_fraction(stacks: np.ndarray, level: float = 0.05) -> np.ndarray:
    """Fraction ``(n,)`` of the centre slice's pixels above ``level`` (how much anatomy a slice shows)."""
    return (stacks[:, 1] > level).mean(axis=(1, 2))
