"""Input checks for COMET: series ``(T, C)`` and stream states (messages say what was expected)."""

from __future__ import annotations

import numpy as np

from services.core.errors import InvalidInputError

__all__ = ["check_length", "check_stream_state", "validate_series"]


def validate_series(batch: object, n_channels: int | None) -> np.ndarray:
    """Any array-like -> finite float32 ``(T, C)``; ``(T,)`` becomes ``(T, 1)``; ``T >= 1``.

    ``n_channels`` (when known, i.e. after fit) must match ``C``.
    """
    expected = f"(T, {n_channels})" if n_channels else "(T, C) or (T,)"
    try:
        arr = np.asarray(batch)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"expected a numeric array of shape {expected}; got {error}") from error
    if arr.dtype.kind not in "iuf":
        raise InvalidInputError(f"expected a numeric (int or float) series {expected}, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InvalidInputError(f"expected shape {expected}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(
            f"expected at least one time step and one channel {expected}, got {arr.shape}"
        )
    arr = arr.astype(np.float32)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(f"expected finite values, got {int(bad.sum())} NaN/inf (first at {first})")
    if n_channels is not None and arr.shape[1] != n_channels:
        raise InvalidInputError(
            f"expected {n_channels} channels as at fit, got {arr.shape[1]} (shape {arr.shape})"
        )
    return arr


def check_length(series: np.ndarray, window: int) -> np.ndarray:
    """``series`` ``(T, C)`` unchanged when ``T >= window``; else an error naming the minimum."""
    if len(series) < window:
        raise InvalidInputError(
            f"expected a series of at least {window} time steps (the model's window), got {len(series)}; "
            "stream shorter pieces with StreamDetect instead"
        )
    return series


def check_stream_state(
    state: dict[str, np.ndarray], window: int, n_channels: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Validate a stream state; returns (buffer ``(W, C)``, last raw point ``(C,)``, points seen,
    points since adaptation)."""
    try:
        buffer = np.asarray(state["buffer"], np.float32)
        previous = np.asarray(state.get("previous", np.zeros(n_channels)), np.float32)
        count, since = int(state["count"][0]), int(state["since_adapt"][0])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise InvalidInputError(f"expected a state from initial_stream_state(), got {error!r}") from error
    if buffer.shape != (window, n_channels) or previous.shape != (n_channels,):
        raise InvalidInputError(
            f"expected a state buffer of shape {(window, n_channels)} and previous of shape {(n_channels,)}, "
            f"got {buffer.shape} and {previous.shape}"
        )
    return buffer, previous, count, since
