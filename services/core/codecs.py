"""Tensor codecs: ``polyad.common.v1.Tensor`` <-> numpy, with dtype, shape and size checks.

Every failure raises :class:`InvalidInputError` naming the field and what was expected.
"""

from __future__ import annotations

import math

import numpy as np

from polyad.common.v1 import common_pb2
from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["DEFAULT_MAX_BYTES", "DTYPES", "from_numpy", "to_numpy"]

DataType = common_pb2.DataType
DTYPES: dict[int, np.dtype] = {
    DataType.DATA_TYPE_FLOAT32: np.dtype("<f4"),
    DataType.DATA_TYPE_FLOAT64: np.dtype("<f8"),
    DataType.DATA_TYPE_FLOAT16: np.dtype("<f2"),
    DataType.DATA_TYPE_INT32: np.dtype("<i4"),
    DataType.DATA_TYPE_INT64: np.dtype("<i8"),
    DataType.DATA_TYPE_UINT8: np.dtype("u1"),
    DataType.DATA_TYPE_BOOL: np.dtype("?"),
}
_BY_NUMPY = {dtype.newbyteorder("=").str: code for code, dtype in DTYPES.items()}
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _names(codes: list[int]) -> str:
    return ", ".join(DataType.Name(code) for code in codes)


def to_numpy(
    tensor: common_pb2.Tensor,
    field: str = "tensor",
    allowed: tuple[int, ...] | None = None,
    ndim: tuple[int, ...] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> np.ndarray:
    """Decode and validate a tensor; returns a native-endian array (a copy, safe to mutate)."""
    if tensor.dtype not in DTYPES:
        name = DataType.Name(tensor.dtype) if tensor.dtype in DataType.values() else str(tensor.dtype)
        raise InvalidInputError(
            f"{field}: dtype {name} is not supported; expected one of {_names(list(allowed or DTYPES))}", field
        )
    if allowed is not None and tensor.dtype not in allowed:
        raise InvalidInputError(
            f"{field}: dtype {DataType.Name(tensor.dtype)} is not accepted here; "
            f"expected one of {_names(list(allowed))}",
            field,
        )
    shape = tuple(int(s) for s in tensor.shape)
    if any(s < 0 for s in shape):
        raise InvalidInputError(f"{field}: shape {list(shape)} has a negative size", field)
    if ndim is not None and len(shape) not in ndim:
        raise InvalidInputError(
            f"{field}: expected {' or '.join(map(str, ndim))} dimensions, got shape {list(shape)}", field
        )
    dtype = DTYPES[tensor.dtype]
    expected = math.prod(shape) * dtype.itemsize
    if expected > max_bytes:
        raise LimitExceededError(f"{field}: {expected} bytes exceeds the limit of {max_bytes} bytes", field)
    if len(tensor.data) != expected:
        raise InvalidInputError(
            f"{field}: shape {list(shape)} of {DataType.Name(tensor.dtype)} needs {expected} bytes, "
            f"got {len(tensor.data)}",
            field,
        )
    return np.frombuffer(tensor.data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def from_numpy(array: np.ndarray) -> common_pb2.Tensor:
    """Encode an array as a little-endian, row-major tensor."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str
    if key not in _BY_NUMPY:
        raise TypeError(f"cannot encode numpy dtype {array.dtype}; supported: {sorted(_BY_NUMPY)}")
    code = _BY_NUMPY[key]
    data = np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    return common_pb2.Tensor(dtype=code, shape=list(array.shape), data=data)
