"""One volume end to end: decoded volume -> normalised intensities -> slice-wise scores, 3-D map, outputs.

This is the data plane the servicer wraps: ``decode_upload`` (:mod:`services.medical.codec`), then
:func:`analyse_volume`, then the writers (:func:`services.medical.io.nifti.write_map_nifti`,
:func:`services.medical.io.overlay.volume_overlays`, :func:`services.medical.io.seg.dicom_seg_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.medical.detectors.base import VolumeResult
from services.medical.volume import MedicalVolume
from services.medical.windowing import normalise

__all__ = ["VolumeAnalysis", "analyse_volume", "normalised_intensities", "training_stacks"]


@dataclass
class VolumeAnalysis:
    """Slice-wise scoring of one volume with the normalised intensities it was computed from."""

    volume: MedicalVolume
    intensities: np.ndarray  # float32 (X, Y, Z) in [0, 1]
    result: VolumeResult


def normalised_intensities(volume: MedicalVolume, window: tuple[float, float] | None = None) -> np.ndarray:
    """Per-modality normalisation (:func:`services.medical.windowing.normalise`); a window applies to CT input.

    With no explicit window, a CT volume uses the window stored in its DICOM header when there is one.
    """
    if window is None and volume.modality.upper() == "CT" and volume.window is not None:
        window = volume.window
    return normalise(volume.data, volume.modality, window)


def analyse_volume(detector: object, volume: MedicalVolume, window: tuple[float, float] | None = None
                   ) -> VolumeAnalysis:
    """Score every axial slice of ``volume`` with a fitted medical detector (see ``MedicalSlices.score_volume``)."""
    intensities = normalised_intensities(volume, window)
    return VolumeAnalysis(volume, intensities, detector.score_volume(intensities))  # type: ignore[attr-defined]


def training_stacks(volumes: list[MedicalVolume], window: tuple[float, float] | None = None, offset: int = 1,
                    min_foreground: float = 0.02, size: int | None = 256) -> np.ndarray:
    """Normal studies -> 2.5D training stacks ``(n, 3, size, size)`` in [0, 1] (slices with enough anatomy).

    Studies of different shapes are resized to one ``size`` (bilinear); ``None`` requires equal slice shapes.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812

    from services.medical.slices import foreground_fraction, slice_stacks

    parts = []
    for volume in volumes:
        stacks = slice_stacks(normalised_intensities(volume, window), offset)
        keep = foreground_fraction(stacks) >= min_foreground
        stacks = stacks[keep] if keep.any() else stacks
        if size is not None and stacks.shape[-2:] != (size, size):
            t = F.interpolate(torch.from_numpy(stacks), size=(size, size), mode="bilinear", align_corners=False,
                              antialias=True)
            stacks = t.clamp(0, 1).numpy()
        parts.append(stacks)
    return np.concatenate(parts).astype(np.float32)
