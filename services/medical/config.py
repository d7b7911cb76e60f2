"""Settings of the medical service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "MedicalSettings"]

SERVICE = "medical"


class MedicalSettings(ServiceSettings):
    """Limits and defaults of ``polyad.medical.v1.MedicalService``."""

    max_upload_bytes: int = Field(60 * 1024 * 1024, ge=1,
                                  description="Largest uploaded study (DICOM / zip series / NIfTI / PNG), in bytes.")
    max_voxels: int = Field(512 * 512 * 256, ge=1, description="Largest decoded study, in voxels (X·Y·Z).")
    max_slices: int = Field(1024, ge=1, description="Most axial slices in one study.")
    max_fit_studies: int = Field(64, ge=1, description="Most studies in one Fit request.")
    min_fit_slices: int = Field(8, ge=2, description="Fewest scorable slices Fit accepts (train + calibration).")
    fit_image_size: int = Field(160, ge=32, le=1024,
                                description="Square size Fit resizes training stacks to (config_json image_size wins).")
    max_overlays: int = Field(32, ge=0, description="Most PNG overlays one Detect returns.")
