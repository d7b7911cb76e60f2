"""Readers (ENVI, .mat v5 / v7.3, .npy) and the upload codec."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.hyperspectral.codec import decode_upload, encode_npy
from services.hyperspectral.loaders import load_cube, read_mat

CUBE = np.random.default_rng(0).random((6, 7, 5)).astype(np.float32)
GT = np.zeros((6, 7), dtype=np.uint8)
GT[2, 3] = 1


def _envi(folder: Path) -> Path:
    from spectral.io import envi

    header = folder / "scene.hdr"
    envi.save_image(str(header), CUBE, dtype=np.float32, metadata={"wavelength": [400, 500, 600, 700, 800]})
    return header


def test_npy_round_trip(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", CUBE)
    np.testing.assert_array_equal(load_cube(tmp_path / "c.npy").data, CUBE)


def test_envi_round_trip(tmp_path: Path) -> None:
    cube = load_cube(_envi(tmp_path))
    np.testing.assert_array_equal(cube.data, CUBE)
    np.testing.assert_array_equal(cube.wavelengths, [400, 500, 600, 700, 800])


def test_mat_round_trip_with_default_and_named_variables(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(tmp_path / "abu.mat", {"data": CUBE.astype(np.float64), "map": GT})
    cube = load_cube(tmp_path / "abu.mat")
    np.testing.assert_allclose(cube.data, CUBE)
    np.testing.assert_array_equal(cube.gt, GT)
    savemat(tmp_path / "named.mat", {"paviaU": CUBE, "truth": GT, "other": np.ones((2, 2))})
    named = read_mat(tmp_path / "named.mat", "paviaU", "truth")
    np.testing.assert_array_equal(named.gt, GT)
    assert read_mat(tmp_path / "named.mat").gt is None  # the only 3-D variable is found
    with pytest.raises(ValueError, match="not found"):
        read_mat(tmp_path / "named.mat", "nope")


def test_mat_v73_through_h5py(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "v73.mat", "w") as handle:  # MATLAB stores arrays transposed
        handle["data"] = CUBE.T
        handle["map"] = GT.T
    cube = read_mat(tmp_path / "v73.mat")
    np.testing.assert_array_equal(cube.data, CUBE)
    np.testing.assert_array_equal(cube.gt, GT)


def test_codec_decodes_npy_mat_and_envi_zip(tmp_path: Path) -> None:
    from scipy.io import savemat

    np.testing.assert_array_equal(decode_upload(encode_npy(CUBE), "x.npy").data, CUBE)
    savemat(tmp_path / "a.mat", {"data": CUBE, "map": GT})
    assert decode_upload((tmp_path / "a.mat").read_bytes(), "a.MAT").gt.sum() == 1
    header = _envi(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(header, "dir/scene.hdr")
        archive.write(header.with_suffix(".img"), "dir/scene.img")
    np.testing.assert_array_equal(decode_upload(buffer.getvalue(), "scene.zip").data, CUBE)


@pytest.mark.parametrize(("data", "name", "match"), [
    (b"", "x.npy", "empty"),
    (b"garbage", "x.tif", "unknown file type"),
    (b"garbage", "x.npy", "could not read"),
    (b"garbage", "x.mat", "could not read"),
    (b"garbage", "x.zip", "not a valid zip"),
    (encode_npy(np.zeros((3, 3))), "x.npy", "expected a cube"),
])
def test_codec_rejects_bad_uploads(data: bytes, name: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        decode_upload(data, name)


def test_codec_rejects_zip_without_header_and_oversize() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "no cube here")
    with pytest.raises(InvalidInputError, match="exactly one ENVI"):
        decode_upload(buffer.getvalue(), "a.zip")
    with pytest.raises(InvalidInputError, match="at most 10 are accepted"):
        decode_upload(encode_npy(CUBE), "x.npy", max_bytes=10)


def test_codec_rejects_pickled_npy() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidInputError):
        decode_upload(buffer.getvalue(), "x.npy")
