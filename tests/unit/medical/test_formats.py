"""Readers (DICOM file / multi-frame / series zip and folder, NIfTI, PNG / JPEG), windowing and orientation."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from services.medical.codec import decode_tensor, decode_upload, detect_format
from services.medical.io.nifti import write_map_nifti
from services.medical.volume import display_to_slice, slice_to_display
from services.medical.windowing import WINDOW_PRESETS, apply_window, normalise, resolve_window
from tests.unit.medical.helpers import pydicom_file, write_series


def test_ct_small_rescales_to_hu_and_keeps_spacing() -> None:
    path = pydicom_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    volume = decode_upload(path.read_bytes(), "CT_small.dcm")
    assert volume.format == "dicom" and volume.modality == "CT" and volume.shape == (128, 128, 1)
    expected = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert volume.data.min() == pytest.approx(-896.0) and volume.data.max() == pytest.approx(expected.max())
    np.testing.assert_allclose(volume.spacing, (0.661468, 0.661468, 5.0), rtol=1e-5)
    assert nib.aff2axcodes(volume.affine) == ("R", "A", "S")


def test_mr_small_keeps_16_bit_intensities() -> None:
    path = pydicom_file("MR_small.dcm")
    volume = decode_upload(path.read_bytes(), "MR_small.dcm")
    assert volume.modality == "MR" and volume.shape == (64, 64, 1)
    assert volume.data.max() == pydicom.dcmread(path).pixel_array.max() > 255


def test_multiframe_file_gives_one_slice_per_frame() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    frames = np.stack([ds.pixel_array + 100 * i for i in range(3)]).astype(ds.pixel_array.dtype)
    ds.NumberOfFrames = 3
    ds.PixelData = frames.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    volume = decode_upload(buffer.getvalue(), "multi.dcm")
    assert volume.shape == (128, 128, 3)
    means = volume.data.mean(axis=(0, 1))
    assert np.all(np.abs(np.diff(np.sort(means)) - 100) < 1e-3)


@pytest.mark.parametrize("packing", ["zip", "folder"])
def test_series_is_sorted_by_position(tmp_path: Path, packing: str) -> None:
    slices = np.stack([np.full((32, 40), 10.0 * k) for k in range(5)]).astype(np.float32)
    paths = write_series(tmp_path, slices, spacing_z=2.5)
    if packing == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for p in paths:
                archive.write(p, p.name)
        from services.medical.codec import decode_upload as decode

        assert detect_format(buffer.getvalue()) == "zip"
        volume = decode(buffer.getvalue(), "series.zip")
    else:
        from services.medical.io.dicom import read_dicom

        volume = read_dicom(tmp_path)
    assert volume.shape == (40, 32, 5)
    np.testing.assert_allclose(volume.data.mean(axis=(0, 1)), 10.0 * np.arange(5), atol=0.5)
    np.testing.assert_allclose(volume.spacing[2], 2.5)
    assert len(volume.datasets) == 5


def _nifti(data: np.ndarray, affine: np.ndarray, gz: bool) -> bytes:
    payload = nib.Nifti1Image(data, affine).to_bytes()
    return gzip.compress(payload) if gz else payload


@pytest.mark.parametrize("gz", [False, True])
def test_nifti_reoriented_to_ras_with_spacing(gz: bool) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    affine = np.diag([-0.8, 0.9, 2.0, 1.0])  # LAS on disk
    volume = decode_upload(_nifti(data, affine, gz), "x.nii.gz" if gz else "x.nii")
    assert volume.format == "nifti" and nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    np.testing.assert_allclose(volume.spacing, (0.8, 0.9, 2.0))
    np.testing.assert_array_equal(volume.data, data[::-1].astype(np.float32))


def test_nifti_map_round_trip_keeps_affine_and_shape() -> None:
    data = np.random.default_rng(0).normal(size=(6, 7, 5)).astype(np.float32)
    affine = np.array([[0, 0, 1.5, -10], [-0.9, 0, 0, 20], [0, 1.1, 0, 5], [0, 0, 0, 1.0]])  # permuted + flipped
    volume = decode_upload(_nifti(data, affine, True), "v.nii.gz")
    written = nib.Nifti1Image.from_bytes(gzip.decompress(write_map_nifti(volume, volume.data * 2)))
    assert written.shape == data.shape
    np.testing.assert_allclose(written.affine, affine)
    np.testing.assert_allclose(np.asarray(written.dataobj), data * 2, rtol=1e-6)


def test_png_16_bit_and_jpeg() -> None:
    image = (np.arange(40 * 50).reshape(40, 50) * 30).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    volume = decode_upload(buffer.getvalue(), "x.png")
    assert volume.format == "png" and volume.shape == (50, 40, 1) and volume.data.max() == image.max() > 255
    np.testing.assert_array_equal(slice_to_display(volume.data[:, :, 0]), image.astype(np.float32))
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 50, 3), 120, np.uint8)).save(buffer, format="JPEG")
    assert decode_upload(buffer.getvalue(), "x.jpg").format == "jpeg"


def test_display_convention_round_trip() -> None:
    plane = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(display_to_slice(slice_to_display(plane)), plane)
    assert slice_to_display(plane).shape == (4, 3)


def test_windowing_presets_and_explicit() -> None:
    center, width = resolve_window("brain")
    assert (center, width) == WINDOW_PRESETS["brain"]
    np.testing.assert_allclose(apply_window(np.array([0.0, 40.0, 80.0, 500.0]), center, width), [0, 0.5, 1, 1])
    assert resolve_window("liver/abdomen") == WINDOW_PRESETS["abdomen"]
    assert resolve_window(center=-600, width=1500) == (-600.0, 1500.0)
    with pytest.raises(ValueError, match="known: brain"):
        resolve_window("nope")
    with pytest.raises(ValueError, match="width > 0"):
        resolve_window(center=10, width=0)
    mr = normalise(np.array([0.0, 100.0, 200.0, 300.0]), "MR")
    assert mr[0] == 0 and mr.max() == 1.0


def test_tensor_input_with_spacing() -> None:
    volume = decode_tensor(np.ones((10, 12, 4), np.float32), spacing=(0.5, 0.5, 3.0), modality="MR")
    assert volume.shape == (10, 12, 4) and volume.spacing == (0.5, 0.5, 3.0)
    assert decode_tensor(np.ones((40, 30))).shape == (30, 40, 1)



def test_training_stacks_from_studies_of_different_shapes() -> None:
    from services.medical.pipeline import training_stacks

    a = decode_tensor(np.pad(np.ones((20, 30, 5), np.float32), 2), modality="MR")
    b = decode_tensor(np.pad(np.ones((40, 36, 3), np.float32), 2), modality="MR")
    stacks = training_stacks([a, b], size=64)
    assert stacks.shape == (5 + 3, 3, 64, 64) and stacks.min() >= 0 and stacks.max() <= 1
