"""Decoding and validating series tensors for the time-series service."""

from __future__ import annotations

import numpy as np

from polyad.common.v1 import common_pb2
from services.core.codecs import to_numpy
from services.core.contract import ModelMetadata
from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["NUMERIC", "check_min_length", "check_series", "decode_series"]

NUMERIC = (
    common_pb2.DATA_TYPE_FLOAT32,
    common_pb2.DATA_TYPE_FLOAT64,
    common_pb2.DATA_TYPE_FLOAT16,
    common_pb2.DATA_TYPE_INT32,
    common_pb2.DATA_TYPE_INT64,
)


def decode_series(
    tensor: common_pb2.Tensor,
    field: str,
    max_points: int,
    max_bytes: int,
    metadata: ModelMetadata | None = None,
    max_channels: int = 512,
) -> np.ndarray:
    """A validated float32 ``(T, C)`` array from a ``(T, C)`` or ``(T,)`` numeric tensor."""
    if not tensor.ByteSize():
        raise InvalidInputError(f"{field} is missing; expected a (T, C) or (T,) numeric tensor", field)
    array = to_numpy(tensor, field=field, allowed=NUMERIC, ndim=(1, 2), max_bytes=max_bytes)
    return check_series(array, field, max_points, metadata, max_channels)


def check_series(
    array: np.ndarray, field: str, max_points: int, metadata: ModelMetadata | None = None, max_channels: int = 512
) -> np.ndarray:
    """A validated float32 ``(T, C)`` array from a numeric ``(T, C)`` or ``(T,)`` array (limits, finiteness, model)."""
    if array.ndim == 1:
        array = array[:, None]
    steps, channels = array.shape
    if steps == 0:
        raise InvalidInputError(f"{field} is empty; expected at least 1 time step", field)
    if channels == 0 or channels > max_channels:
        raise InvalidInputError(f"{field} has {channels} channels; expected 1 to {max_channels}", field)
    if steps > max_points:
        raise LimitExceededError(f"{field} has {steps} time steps; the limit is {max_points}", field)
    values = array.astype(np.float32, copy=False)
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise InvalidInputError(
            f"{field} holds NaN or infinite values (first at time step {bad}); expected finite numbers", field
        )
    if metadata is not None and len(metadata.input_spec.shape) == 2 and metadata.input_spec.shape[1] > 0:
        expected = metadata.input_spec.shape[1]
        if channels != expected:
            raise InvalidInputError(f"{field} has {channels} channels; the model was trained on {expected}", field)
    return values


def check_min_length(values: np.ndarray, field: str, metadata: ModelMetadata) -> np.ndarray:
    """``values`` ``(T, C)`` unchanged when ``T`` reaches the model's window (its ``window`` setting)."""
    window = int(metadata.config.get("window", 1))
    if len(values) < window:
        raise InvalidInputError(
            f"{field} has {len(values)} time steps; the {metadata.name} model needs at least {window} "
            "(its window). Send a longer series, or stream shorter pieces with StreamDetect",
            field,
        )
    return values
