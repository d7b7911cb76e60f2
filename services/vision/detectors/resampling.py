"""Bringing feature or anomaly maps of several strides onto one grid."""

from __future__ import annotations

import torch.nn.functional as F  # noqa: N812
from torch import Tensor

__all__ = ["to_grid"]


def to_grid(maps: Tensor, size: tuple[int, ...]) -> Tensor:
    """``(B, C, h, w)`` -> ``(B, C, *size)`` by bilinear resampling (unchanged when already that size)."""
    return maps if maps.shape[-2:] == size else F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
