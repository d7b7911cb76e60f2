"""Tensor codec: round trips and every validation error."""

import numpy as np
import pytest

from polyad.common.v1 import common_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "uint8", "bool"])
def test_round_trip(dtype: str) -> None:
    array = (np.arange(12) % 2).astype(dtype).reshape(3, 4)
    back = to_numpy(from_numpy(array))
    assert back.dtype == array.dtype and back.shape == (3, 4)
    np.testing.assert_array_equal(back, array)


def test_big_endian_input_is_encoded_little_endian() -> None:
    array = np.arange(3, dtype=">f4")
    tensor = from_numpy(array)
    assert tensor.data == np.arange(3, dtype="<f4").tobytes()


def test_errors_name_the_problem() -> None:
    good = from_numpy(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="needs 24 bytes, got 20"):
        to_numpy(common_pb2.Tensor(dtype=good.dtype, shape=good.shape, data=good.data[:20]), field="x")
    with pytest.raises(InvalidInputError, match=r"dtype .* not supported"):
        to_numpy(common_pb2.Tensor(shape=[1], data=b"\0"))
    with pytest.raises(InvalidInputError, match="not accepted here"):
        to_numpy(good, allowed=(common_pb2.DATA_TYPE_INT32,))
    with pytest.raises(InvalidInputError, match="expected 1 dimensions"):
        to_numpy(good, ndim=(1,))
    with pytest.raises(InvalidInputError, match="exceeds the limit"):
        to_numpy(good, max_bytes=10)
    with pytest.raises(InvalidInputError, match="negative"):
        to_numpy(common_pb2.Tensor(dtype=good.dtype, shape=[-1], data=b""))
