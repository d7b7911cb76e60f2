"""Uploads and tensors -> validated :class:`~services.medical.volume.MedicalVolume` (the service's decoder).

The format is detected from the content (DICOM ``DICM`` marker, zip of a DICOM series, NIfTI magic, gzip,
PNG / JPEG signatures), never trusted from the file name alone. Every rejected input is an
:class:`~services.core.errors.InvalidInputError` saying what was expected: not DICOM/NIfTI/PNG/JPEG, missing
pixel data, compressed transfer syntax without a decoder, 4-D NIfTI, zero-size, non-finite values, over-size.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.medical.volume import MedicalVolume, canonicalise

__all__ = ["DecodeLimits", "decode_tensor", "decode_upload", "detect_format"]

FORMATS = "DICOM (a .dcm file, multi-frame, or a series as a zip), NIfTI (.nii / .nii.gz) or PNG/JPEG"


@dataclass(frozen=True)
class DecodeLimits:
    """Upper bounds on what one request may carry."""

    max_bytes: int = 512 * 1024**2
    max_voxels: int = 512 * 512 * 1024
    max_slices: int = 2048


def detect_format(data: bytes, filename: str = "") -> str:
    """``"dicom"``, ``"zip"``, ``"nifti"``, ``"png"`` or ``"jpeg"`` from the content; ``""`` when none matches."""
    from services.medical.io.dicom import is_dicom
    from services.medical.io.nifti import is_nifti
    from services.medical.io.raster import is_raster

    if is_dicom(data):
        return "dicom"
    if data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data)):
        return "zip"
    if is_nifti(data):
        return "nifti"
    if raster := is_raster(data):
        return raster
    if filename.lower().endswith((".dcm", ".dicom")) and len(data) > 8 and data[:2] in (b"\x08\x00", b"\x02\x00"):
        return "dicom"  # a DICOM dataset without the Part 10 preamble
    return ""


def _check_volume(volume: MedicalVolume, name: str, limits: DecodeLimits) -> MedicalVolume:
    shape = volume.data.shape
    if 0 in shape:
        raise InvalidInputError(f"{name} is zero-size (shape {shape}); expected at least one voxel per axis")
    if volume.data.size > limits.max_voxels or shape[2] > limits.max_slices:
        raise LimitExceededError(f"{name} has shape {shape} ({volume.data.size} voxels); the limits are "
                                f"{limits.max_voxels} voxels and {limits.max_slices} slices", name)
    if not np.isfinite(volume.data).all():
        bad = int((~np.isfinite(volume.data)).sum())
        raise InvalidInputError(f"{name} has {bad} NaN or infinite values; expected finite intensities")
    return volume


def decode_upload(data: bytes, filename: str = "", limits: DecodeLimits | None = None,
                  name: str = "upload") -> MedicalVolume:
    """An uploaded file's bytes (DICOM file or zip series, NIfTI, PNG/JPEG) -> a checked RAS volume."""
    limits = limits or DecodeLimits()
    label = f"{name} ({filename})" if filename else name
    if not data:
        raise InvalidInputError(f"{label} is empty (zero bytes); expected {FORMATS}", name)
    if len(data) > limits.max_bytes:
        raise LimitExceededError(f"{label} is {len(data)} bytes; the limit is {limits.max_bytes}", name)
    kind = detect_format(data, filename)
    try:
        if kind in ("dicom", "zip"):
            from services.medical.io.dicom import read_dicom

            volume = read_dicom(data, label)
        elif kind == "nifti":
            from services.medical.io.nifti import read_nifti

            volume = read_nifti(data, label)
        elif kind in ("png", "jpeg"):
            from services.medical.io.raster import read_raster

            volume = read_raster(data, label, max_pixels=limits.max_voxels)
        else:
            raise InvalidInputError(f"{label} is not {FORMATS} (first bytes {data[:8]!r})", name)
    except InvalidInputError as error:
        error.field = error.field or name
        raise
    return _check_volume(volume, label, limits)


def decode_tensor(array: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0), modality: str = "",
                  limits: DecodeLimits | None = None, name: str = "volume") -> MedicalVolume:
    """A raw volume ``(X, Y, Z)`` in RAS+ (or one slice ``(H, W)`` in display orientation) with voxel ``spacing``."""
    from services.medical.volume import display_to_slice

    limits = limits or DecodeLimits()
    values = np.asarray(array)
    if values.dtype.kind not in "uif":
        raise InvalidInputError(f"{name} has dtype {values.dtype}; expected a numeric volume", name)
    if values.ndim == 2:
        values = display_to_slice(values)[:, :, None]
        spacing = (*tuple(spacing)[:2], 1.0) if len(spacing) >= 2 else (1.0, 1.0, 1.0)
    if values.ndim != 3:
        raise InvalidInputError(f"{name} is {values.ndim}-D {values.shape}; expected a volume (X, Y, Z) or a slice "
                                "(H, W)", name)
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise InvalidInputError(f"{name} spacing {tuple(spacing)} must be three positive millimetre values", name)
    if 0 in values.shape:
        raise InvalidInputError(f"{name} is zero-size (shape {values.shape})", name)
    volume = canonicalise(values.astype(np.float32), np.diag([*map(float, spacing), 1.0]), modality=modality,
                          format="tensor")
    return _check_volume(volume, name, limits)
