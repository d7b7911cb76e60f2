"""NIfTI in (``.nii``, ``.nii.gz``, from a path or bytes) and the anomaly map out, aligned to the input.

Input is reoriented to RAS+ (``nibabel.as_closest_canonical``) with spacing kept; a map is written back in
the source file's orientation with its affine and shape, so viewers overlay it on the original volume.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from services.core.errors import InvalidInputError
from services.medical.volume import MedicalVolume, canonicalise

__all__ = ["is_nifti", "nifti_bytes", "read_nifti", "write_map_nifti"]

_MAGICS = (b"n+1\x00", b"ni1\x00", b"n+2\x00", b"ni2\x00")


def _header_bytes(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                return stream.read(544)
        except (OSError, EOFError):
            return b""
    return data[:544]


def is_nifti(data: bytes) -> bool:
    """True when the (possibly gzipped) bytes carry a NIfTI-1 or NIfTI-2 magic string."""
    head = _header_bytes(data)
    return (len(head) >= 348 and head[344:348] in _MAGICS) or (len(head) >= 544 and head[4:8] in _MAGICS)


def read_nifti(source: str | Path | bytes, name: str = "upload") -> MedicalVolume:
    """A 3-D NIfTI (path or bytes, gzipped or not) -> RAS :class:`MedicalVolume`; 4-D and 2-D are rejected."""
    import nibabel as nib

    try:
        if isinstance(source, (str, Path)):
            image = nib.load(str(source))
        else:
            data = bytes(source)
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            klass = nib.Nifti2Image if _header_bytes(data)[4:8] in _MAGICS[2:] else nib.Nifti1Image
            image = klass.from_bytes(data)
        shape = image.shape
    except (nib.filebasedimages.ImageFileError, ValueError, OSError, EOFError) as error:
        raise InvalidInputError(f"{name} is not a readable NIfTI file ({error})") from error
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3 and not (len(shape) == 2):
        raise InvalidInputError(f"{name} is a {len(shape)}-D NIfTI {tuple(shape)}; expected one 3-D volume (X, Y, Z)")
    try:
        values = np.asarray(image.dataobj, dtype=np.float32).reshape(shape if len(shape) == 3 else (*shape, 1))
    except (ValueError, OSError, EOFError) as error:
        raise InvalidInputError(f"{name} has unreadable voxel data ({error}); is the file truncated?") from error
    modality = "CT" if values.size and float(values.min()) <= -500.0 else ""  # air in HU: a CT volume
    return canonicalise(values, image.affine, modality=modality, format="nifti")


def write_map_nifti(volume: MedicalVolume, anomaly_map: np.ndarray, path: str | Path | None = None) -> bytes:
    """The map ``(X, Y, Z)`` aligned with ``volume.data`` as ``.nii.gz`` bytes in the source orientation.

    The written image has the input's affine (``source_affine``) and shape; also saved to ``path`` if given.
    """
    import nibabel as nib

    if anomaly_map.shape != volume.data.shape:
        raise ValueError(f"map shape {anomaly_map.shape} differs from the volume {volume.data.shape}")
    source = volume.to_source(np.asarray(anomaly_map, np.float32)).reshape(volume.source_shape)
    image = nib.Nifti1Image(source, volume.source_affine)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = b"polyad anomaly map"
    payload = nifti_bytes(image)
    if path is not None:
        Path(path).write_bytes(payload)
    return payload


def nifti_bytes(image: object) -> bytes:
    """A nibabel image as gzipped NIfTI bytes."""
    return gzip.compress(image.to_bytes(), compresslevel=4)  # type: ignore[attr-defined]
