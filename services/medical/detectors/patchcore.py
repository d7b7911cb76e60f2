"""PatchCore baseline on the same backbone, over medical 2.5D slices (vision's PatchCore, medical batch type)."""

from __future__ import annotations

from pydantic import Field

from services.medical.detectors.base import MedicalFields, MedicalSlices
from services.vision.detectors.patchcore import PatchCoreConfig, PatchCoreDetector

__all__ = ["MedicalPatchCoreConfig", "MedicalPatchCoreDetector"]


class MedicalPatchCoreConfig(MedicalFields, PatchCoreConfig):
    """PatchCore hyper-parameters with the medical model resolution."""

    image_size: int | None = Field(224, ge=32, le=1024, description="Square model resolution; None = input size.")


class MedicalPatchCoreDetector(MedicalSlices, PatchCoreDetector):
    """PatchCore (coreset memory of neighbour-aware patch features) over 2.5D slices ``(n, 3, H, W)``."""

    name = "patchcore"
    modality = "medical"
    Config = MedicalPatchCoreConfig
    config: MedicalPatchCoreConfig
