"""DICOM in: single files, multi-frame files and series (a folder, a zip, or a list of files' bytes).

Pixel values go through the modality LUT (rescale slope / intercept -> HU for CT), MONOCHROME1 is inverted,
colour images become luminance. Geometry comes from Image Orientation / Position (Patient) and Pixel
Spacing (per-frame functional groups for enhanced multi-frame files); DICOM's LPS is converted to RAS.
Problems are :class:`~services.core.errors.InvalidInputError` naming what was expected.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from services.core.errors import InvalidInputError
from services.medical.volume import MedicalVolume, canonicalise

__all__ = ["is_dicom", "read_dicom", "read_dicom_datasets", "volume_from_datasets"]

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_DECODER_HINT = "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg  (or send uncompressed DICOM)"


def is_dicom(data: bytes) -> bool:
    """True when ``data`` carries the DICOM Part 10 preamble marker ``DICM`` at offset 128."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def _parse(data: bytes, name: str) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(io.BytesIO(data), force=not is_dicom(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, OSError) as error:
        raise InvalidInputError(f"{name} is not a readable DICOM file ({error})") from error


def read_dicom_datasets(source: str | Path | bytes | Iterable[bytes], name: str = "upload") -> list[Any]:
    """Datasets from a file path, a folder, a zip (path or bytes), one file's bytes or several files' bytes."""
    blobs: list[tuple[str, bytes]] = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            blobs = [(str(p), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()]
        else:
            blobs = [(str(path), path.read_bytes())]
    elif isinstance(source, (bytes, bytearray, memoryview)):
        blobs = [(name, bytes(source))]
    else:
        blobs = [(f"{name}[{i}]", bytes(b)) for i, b in enumerate(source)]
    expanded: list[tuple[str, bytes]] = []
    for label, data in blobs:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                expanded += [(f"{label}:{i.filename}", archive.read(i)) for i in archive.infolist() if not i.is_dir()]
        else:
            expanded.append((label, data))
    datasets = [_parse(data, label) for label, data in expanded if is_dicom(data) or len(expanded) == 1]
    if not datasets:
        raise InvalidInputError(f"{name} holds no DICOM file (expected files with the 'DICM' marker)")
    return datasets


def _frames(ds: Any, label: str) -> np.ndarray:
    """Decoded pixels ``(F, rows, cols)`` float32 after the modality LUT (and MONOCHROME1 inversion)."""
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        raise InvalidInputError(f"{label} has no pixel data (SOP class {ds.get('SOPClassUID', '?')}); "
                                "expected an image with a Pixel Data element")
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    try:
        pixels = ds.pixel_array
    except (NotImplementedError, RuntimeError) as error:
        name = getattr(syntax, "name", str(syntax))
        raise InvalidInputError(f"{label} uses the compressed transfer syntax {name!r} and no decoder for it is "
                                f"installed ({_DECODER_HINT})") from error
    except (ValueError, AttributeError, KeyError, EOFError) as error:
        raise InvalidInputError(f"{label} has unreadable pixel data ({error}); is the file truncated?") from error
    pixels = np.asarray(pixels)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if int(ds.get("SamplesPerPixel", 1)) > 1:  # colour: luminance (ITU-R BT.601)
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        pixels = pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.shape[0] != frames and frames > 1:
        raise InvalidInputError(f"{label} declares {frames} frames but holds {pixels.shape[0]}")
    values = pixels.astype(np.float32)
    slope, intercept = _rescale(ds)
    values = values * slope + intercept
    if photometric == "MONOCHROME1":
        values = values.max() + values.min() - values
    return values


def _rescale(ds: Any) -> tuple[float, float]:
    """Rescale slope and intercept, from the top level or the enhanced multi-frame functional groups."""
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:
        return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    for group in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for item in ds.get(group, [])[:1]:
            for transform in item.get("PixelValueTransformationSequence", []):
                return float(transform.get("RescaleSlope", 1)), float(transform.get("RescaleIntercept", 0))
    return 1.0, 0.0


def _geometry(ds: Any, n_frames: int) -> tuple[np.ndarray | None, np.ndarray | None, tuple[float, float], float]:
    """(orientation (6,), positions (F, 3) or None, (row spacing, col spacing), slice thickness) of one dataset."""
    shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []

    def find(keyword: str, sequence: str) -> Any:
        if keyword in ds:
            return ds.get(keyword)
        for item in ([shared] if shared is not None else []) + list(per_frame[:1]):
            if sequence in item and keyword in item[sequence][0]:
                return item[sequence][0].get(keyword)
        return None

    orientation = find("ImageOrientationPatient", "PlaneOrientationSequence")
    spacing = find("PixelSpacing", "PixelMeasuresSequence") or find("ImagerPixelSpacing", "PixelMeasuresSequence")
    thickness = find("SpacingBetweenSlices", "PixelMeasuresSequence") or find("SliceThickness", "PixelMeasuresSequence")
    if per_frame and "PlanePositionSequence" in per_frame[0]:
        positions = np.array([[float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient] for f in per_frame])
    elif "ImagePositionPatient" in ds:
        positions = np.array([[float(v) for v in ds.ImagePositionPatient]] * n_frames)
        if n_frames > 1:
            positions = None
    else:
        positions = None
    row_col = (float(spacing[0]), float(spacing[1])) if spacing else (1.0, 1.0)
    return (np.array([float(v) for v in orientation]) if orientation else None, positions, row_col,
            float(thickness) if thickness else 1.0)


def _affine(orientation: np.ndarray | None, positions: np.ndarray | None, spacing: tuple[float, float],
            thickness: float) -> np.ndarray:
    """RAS affine of the array ``(cols, rows, slices)``."""
    if orientation is None:
        return np.diag([-spacing[1], -spacing[0], thickness, 1.0]) @ np.eye(4)  # unknown: axial, LPS-aligned
    row_cos, col_cos = orientation[:3], orientation[3:]
    normal = np.cross(row_cos, col_cos)
    lps = np.eye(4)
    lps[:3, 0] = row_cos * spacing[1]
    lps[:3, 1] = col_cos * spacing[0]
    if positions is not None and len(positions) > 1:
        lps[:3, 2] = (positions[-1] - positions[0]) / (len(positions) - 1)
    else:
        lps[:3, 2] = normal * thickness
    if positions is not None:
        lps[:3, 3] = positions[0]
    return _LPS_TO_RAS @ lps


def volume_from_datasets(datasets: list[Any], name: str = "upload") -> MedicalVolume:
    """One image series (or one multi-frame file) -> a RAS :class:`MedicalVolume` keeping the datasets."""
    images = [ds for ds in datasets if any(k in ds for k in _PIXEL_KEYWORDS)]
    if not images:
        _frames(datasets[0], name)  # raises "no pixel data"
    series: dict[str, list[Any]] = {}
    for ds in images:
        series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    if len(series) > 1:
        raise InvalidInputError(f"{name} holds {len(series)} DICOM series; expected one series per request")
    images = next(iter(series.values()))
    if len(images) > 1:
        multi = [ds for ds in images if int(ds.get("NumberOfFrames", 1) or 1) > 1]
        if multi:
            raise InvalidInputError(f"{name} mixes {len(multi)} multi-frame files with others; send one at a time")
        orientation, _, _, _ = _geometry(images[0], 1)
        normal = np.cross(orientation[:3], orientation[3:]) if orientation is not None else np.array([0, 0, 1.0])
        def along(ds: Any) -> tuple[float, int]:
            position = [float(v) for v in ds.get("ImagePositionPatient", [0, 0, 0])]
            return float(np.dot(normal, position)), int(ds.get("InstanceNumber", 0) or 0)

        images.sort(key=along)
        shapes = {(int(ds.Rows), int(ds.Columns)) for ds in images}
        if len(shapes) > 1:
            raise InvalidInputError(f"{name}: slices of one series differ in size {sorted(shapes)}")
        stack = np.concatenate([_frames(ds, f"{name} slice {i}") for i, ds in enumerate(images)])
        positions = np.array([[float(v) for v in ds.get("ImagePositionPatient", [0, 0, i])]
                              for i, ds in enumerate(images)])
        _, _, spacing, thickness = _geometry(images[0], 1)
    else:
        stack = _frames(images[0], name)
        orientation, positions, spacing, thickness = _geometry(images[0], len(stack))
    affine = _affine(orientation, positions, spacing, thickness)
    center, width = images[0].get("WindowCenter"), images[0].get("WindowWidth")
    window = None
    if center is not None and width is not None:
        def first(v):
            return (float(v[0]) if hasattr(v, "__len__") and not isinstance(v, str) else float(v))
        window = (first(center), first(width))
    return canonicalise(np.transpose(stack, (2, 1, 0)), affine, modality=str(images[0].get("Modality", "")),
                        format="dicom", datasets=images, window=window)


def read_dicom(source: str | Path | bytes | Iterable[bytes], name: str = "upload") -> MedicalVolume:
    """A DICOM file, multi-frame file or series (folder / zip / list of bytes) -> :class:`MedicalVolume`."""
    return volume_from_datasets(read_dicom_datasets(source, name), name)
