"""Pixel-centred local windows of a cube, ordered so that the centre pixel is the last token."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

__all__ = ["pad_cube", "pixel_windows", "window_offsets"]


def window_offsets(window: int) -> Tensor:
    """Offsets ``(window², 2)`` (row, col), farthest from the centre first, the centre ``(0, 0)`` last.

    The scan then reads the neighbourhood from the outside in and ends on the pixel being reconstructed.
    """
    r = window // 2
    grid = torch.stack(torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij"), -1)
    grid = grid.reshape(-1, 2)
    dist = grid.float().pow(2).sum(-1) + 1e-3 * torch.atan2(grid[:, 0].float(), grid[:, 1].float())
    return grid[torch.argsort(dist, descending=True)]


def pad_cube(cube: Tensor, window: int) -> Tensor:
    """Reflect-pad a cube ``(H, W, B)`` by ``window // 2`` on each side (replicate when too small)."""
    r = window // 2
    mode = "reflect" if min(cube.shape[0], cube.shape[1]) > r else "replicate"
    return F.pad(cube.permute(2, 0, 1).unsqueeze(0), (r, r, r, r), mode=mode)[0].permute(1, 2, 0).contiguous()


def pixel_windows(padded: Tensor, rows: Tensor, cols: Tensor, offsets: Tensor) -> Tensor:
    """Windows ``(N, L, B)`` around pixels ``(rows, cols)`` ``(N,)`` of the unpadded cube; centre last."""
    r = int(offsets.abs().max())
    rr = rows[:, None] + offsets[None, :, 0] + r
    cc = cols[:, None] + offsets[None, :, 1] + r
    return padded[rr, cc]
