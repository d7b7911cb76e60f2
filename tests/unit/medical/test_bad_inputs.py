"""Every rejected upload is an InvalidInputError (INVALID_ARGUMENT / 400) naming what was expected."""

from __future__ import annotations

import gzip
import io

import nibabel as nib
import numpy as np
import pydicom
import pytest

from services.core.errors import InvalidInputError
from services.medical.codec import DecodeLimits, decode_tensor, decode_upload
from tests.unit.medical.helpers import pydicom_file


def _dicom_bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_not_a_medical_file() -> None:
    with pytest.raises(InvalidInputError, match=r"is not DICOM .*NIfTI") as info:
        decode_upload(b"hello, this is text" * 20, "notes.txt")
    assert info.value.http_status == 400


def test_zero_size() -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        decode_upload(b"", "x.dcm")
    with pytest.raises(InvalidInputError, match="zero-size"):
        decode_tensor(np.zeros((0, 4, 4), np.float32))


def test_missing_pixel_data() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    del ds.PixelData
    with pytest.raises(InvalidInputError, match="no pixel data"):
        decode_upload(_dicom_bytes(ds), "nopixels.dcm")


def test_compressed_transfer_syntax_without_decoder() -> None:
    path = pydicom_file("SC_rgb_jpeg_gdcm.dcm")
    with pytest.raises(InvalidInputError, match=r"compressed transfer syntax .*JPEG Lossless.* no decoder"):
        decode_upload(path.read_bytes(), path.name)


def test_four_d_nifti() -> None:
    payload = gzip.compress(nib.Nifti1Image(np.zeros((4, 4, 4, 3), np.float32), np.eye(4)).to_bytes())
    with pytest.raises(InvalidInputError, match=r"4-D NIfTI .* expected one 3-D volume"):
        decode_upload(payload, "bold.nii.gz")


def test_non_finite_values() -> None:
    data = np.ones((4, 4, 4), np.float32)
    data[1, 2, 3] = np.nan
    with pytest.raises(InvalidInputError, match="1 NaN or infinite"):
        decode_upload(nib.Nifti1Image(data, np.eye(4)).to_bytes(), "nan.nii")


def test_over_size_volume() -> None:
    payload = nib.Nifti1Image(np.ones((10, 10, 10), np.float32), np.eye(4)).to_bytes()
    with pytest.raises(InvalidInputError, match="limits are 999 voxels"):
        decode_upload(payload, "big.nii", DecodeLimits(max_voxels=999))
    with pytest.raises(InvalidInputError, match="limit is 100"):
        decode_upload(payload, "big.nii", DecodeLimits(max_bytes=100))


def test_truncated_nifti() -> None:
    payload = nib.Nifti1Image(np.ones((10, 10, 10), np.float32), np.eye(4)).to_bytes()
    with pytest.raises(InvalidInputError, match="truncated"):
        decode_upload(payload[:600], "cut.nii")


def test_bad_slice_batch_for_detectors() -> None:
    from services.medical.detectors.base import validate_slices

    with pytest.raises(InvalidInputError, match=r"\(n, 3, H, W\)"):
        validate_slices(np.zeros((2, 2, 64, 64), np.float32), 512)
    with pytest.raises(InvalidInputError, match=r"normalised to \[0, 1\]"):
        validate_slices(np.full((2, 64, 64), 300.0, np.float32), 512)
    with pytest.raises(InvalidInputError, match="finite"):
        validate_slices(np.full((2, 64, 64), np.nan, np.float32), 512)
    assert validate_slices(np.zeros((2, 64, 64), np.float32), 512).shape == (2, 3, 64, 64)
