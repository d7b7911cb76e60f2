"""Atlas z-score baseline: voxel-wise deviation from the registered training template.

For a test slice at axial position ``p`` the reference is every training slice within ``window`` positions
(all of them for 2-D sets, where positions are 0): the map is ``|x - mean| / (sd + sd_floor)`` per pixel,
smoothed, and the image score the mean of its top ``topk_ratio`` pixels. Inputs are 2.5D stacks
``(n, 3, H, W)`` in [0, 1]; only the centre slice is used.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["AtlasZScore"]


class AtlasZScore:
    """Per-pixel mean / sd of position-matched training slices; scores ``(n,)`` and maps ``(n, H, W)``."""

    def __init__(self, window: int = 3, sd_floor: float = 0.05, sigma: float = 2.0, topk_ratio: float = 0.01) -> None:
        self.window, self.sd_floor, self.sigma, self.topk_ratio = window, sd_floor, sigma, topk_ratio

    def fit(self, stacks: np.ndarray, positions: np.ndarray) -> AtlasZScore:
        self.train_ = np.asarray(stacks[:, 1], np.float32)
        self.positions_ = np.asarray(positions)
        return self

    def score_and_maps(self, stacks: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        maps = np.empty((len(stacks), *stacks.shape[-2:]), np.float32)
        for i, (stack, p) in enumerate(zip(stacks, positions, strict=True)):
            near = np.abs(self.positions_ - p) <= self.window
            reference = self.train_[near] if near.any() else self.train_
            z = np.abs(stack[1] - reference.mean(0)) / (reference.std(0) + self.sd_floor)
            maps[i] = ndimage.gaussian_filter(z, self.sigma)
        flat = maps.reshape(len(maps), -1)
        k = max(1, round(self.topk_ratio * flat.shape[1]))
        return np.sort(flat, axis=1)[:, -k:].mean(1).astype(np.float32), maps
