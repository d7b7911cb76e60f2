"""The in-memory volume every reader produces, and the slice display convention every writer shares.

A :class:`MedicalVolume` holds intensities ``data (X, Y, Z)`` float32 in physical units (HU for CT after
rescale slope/intercept) reoriented to RAS+ (``nibabel.as_closest_canonical``), its voxel-to-RAS ``affine``,
and what is needed to map results back to the file as read (``source_affine``, ``source_shape``; the source
DICOM datasets for DICOM-SEG). 2-D images are volumes with ``Z = 1``.

Display convention (radiological, axial): slice ``data[:, :, k]`` ``(X, Y)`` is shown as ``(H=Y, W=X)`` with
anterior at the top and the patient's right on the image's left: ``display = slice.T[::-1, ::-1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MedicalVolume", "canonicalise", "display_to_slice", "slice_to_display"]


def slice_to_display(plane: np.ndarray) -> np.ndarray:
    """Axial RAS slice ``(X, Y)`` (or a stack ``(..., X, Y)``) -> display image ``(..., H=Y, W=X)``."""
    return np.swapaxes(plane, -1, -2)[..., ::-1, ::-1]


def display_to_slice(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`slice_to_display`: display ``(..., H, W)`` -> RAS slice ``(..., X=W, Y=H)``."""
    return np.swapaxes(image[..., ::-1, ::-1], -1, -2)


@dataclass
class MedicalVolume:
    """A volume in RAS+ orientation with everything needed to write results aligned to its source file."""

    data: np.ndarray  # float32 (X, Y, Z), physical units, RAS+
    affine: np.ndarray  # (4, 4) voxel -> RAS mm of ``data``
    source_affine: np.ndarray  # (4, 4) of the array as stored in the file
    source_shape: tuple[int, ...]
    modality: str = ""  # DICOM-style: "CT", "MR", "OPT" (OCT), "OT" (other) or "" (unknown)
    format: str = ""  # "dicom", "nifti", "png", "jpeg", "tensor"
    datasets: list[Any] = field(default_factory=list, repr=False)  # DICOM sources in slice order (for SEG)
    window: tuple[float, float] | None = None  # (center, width) stored in the file, if any

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(X, Y, Z)``."""
        return tuple(self.data.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along X, Y, Z."""
        return tuple(float(v) for v in np.sqrt((self.affine[:3, :3] ** 2).sum(0)))  # type: ignore[return-value]

    def to_source(self, array: np.ndarray) -> np.ndarray:
        """An array ``(X, Y, Z)`` aligned with ``data`` -> the file's own orientation, shape ``source_shape``."""
        import nibabel as nib

        ornt = nib.orientations.ornt_transform(
            nib.orientations.io_orientation(self.affine), nib.orientations.io_orientation(self.source_affine)
        )
        out = nib.orientations.apply_orientation(array, ornt)
        if out.shape != tuple(self.source_shape[:3]):
            raise ValueError(f"array {array.shape} does not map onto the source shape {self.source_shape}")
        return np.ascontiguousarray(out)


def canonicalise(data: np.ndarray, affine: np.ndarray, **kwargs: Any) -> MedicalVolume:
    """A source array ``(X, Y, Z)`` and its affine -> a RAS+ :class:`MedicalVolume` (axes flipped/permuted only)."""
    import nibabel as nib

    image = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.asarray(affine, float)))
    return MedicalVolume(
        data=np.ascontiguousarray(np.asarray(image.dataobj, dtype=np.float32)),
        affine=np.asarray(image.affine, dtype=np.float64),
        source_affine=np.asarray(affine, dtype=np.float64),
        source_shape=tuple(data.shape),
        **kwargs,
    )
