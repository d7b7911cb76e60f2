"""Input normalisation of COMET: how a raw series ``(T, C)`` becomes the encoder's windows ``(N, C, W)``.

Three modes (``CometConfig.normalization``):

* ``global``: ``x = (s - mean) / std`` with the training mean and std, frozen. A trend or a level
  drift after training makes every later window look anomalous.
* ``window``: the same, then every window is centred on its own per-channel median (robust
  per-window location), and the scale is the training spread of those centred windows. Level and
  trend move with the data; a step, spike, burst or changed shape inside a window still shows.
  A level shift is visible while a window holds both sides of it (up to ``W`` points after it).
* ``difference``: first differences ``s_t - s_{t-1}`` standardised with training statistics; the
  first point of a series (no predecessor) gets a difference of 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

__all__ = ["Normalization", "centre_windows", "input_statistics", "transform"]

Normalization = Literal["global", "window", "difference"]


def _spread(values: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    std = values.std(axis, dtype=np.float64)
    return np.where(std > 1e-8, std, 1.0).astype(np.float32)


def input_statistics(data: np.ndarray, mode: Normalization, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(location ``(C,)``, scale ``(C,)``) from normal training data ``(T, C)``, ``T >= window``."""
    if mode == "difference":
        diffs = np.diff(data, axis=0, prepend=data[:1])
        return diffs.mean(0, dtype=np.float64).astype(np.float32), _spread(diffs, (0,))
    mean = data.mean(0, dtype=np.float64).astype(np.float32)
    if mode == "global":
        return mean, _spread(data, (0,))
    view = np.lib.stride_tricks.sliding_window_view(data, window, axis=0)  # (N, C, W)
    view = view[:: max(1, len(view) // 4096)]
    return mean, _spread(view - np.median(view, axis=-1, keepdims=True), (0, 2))


def transform(
    series: np.ndarray, location: np.ndarray, scale: np.ndarray, mode: Normalization,
    previous: np.ndarray | None = None,
) -> np.ndarray:
    """Raw ``(T, C)`` -> normalised ``(T, C)`` float32 (windows are centred later, in ``window`` mode).

    ``previous`` ``(C,)`` is the raw point before ``series`` (``difference`` mode, streams).
    """
    if mode == "difference":
        before = series[:1] if previous is None else np.asarray(previous, np.float32)[None]
        series = np.diff(series, axis=0, prepend=before)
    return ((series - location) / scale).astype(np.float32)


def centre_windows(windows: Tensor, mode: Normalization) -> Tensor:
    """``window`` mode: windows ``(N, C, W)`` minus their per-channel median; other modes: unchanged."""
    if mode != "window":
        return windows
    return windows - torch.quantile(windows, 0.5, dim=-1, keepdim=True)
