"""The default medical model of the embedded suite: Multi-AD on axial slices of the MNI152 T1 template.

The template ships inside the ``nilearn`` wheel (no download). It is skull-stripped with its own grey + white
matter maps and goes through the same decode → normalise → 2.5D path a NIfTI upload takes in the service, so
the default model scores brain-extracted T1 volumes (e.g. Colin27's ``ch2bet.nii.gz``) as they arrive. Every
5th scorable slice is held out to calibrate p-values (never fitted); the test subject is never used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.medical.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "default_training_stacks", "mni152_volume", "train_default_model"]

DEFAULT_CONFIG: dict[str, Any] = {"image_size": 128, "kd_steps": 45, "kd_crop": 96, "kd_batch": 8,
                                  "synthetic_per_image": 1, "disc_steps": 30, "disc_batch": 8, "student_width": 16,
                                  "student_blocks": 1, "min_foreground": 0.05}
"""Small and short (≈ 1 minute on 2 busy cores); ``polyad train medical --config`` trains bigger ones."""


def mni152_volume():  # type: ignore[no-untyped-def]
    """The skull-stripped MNI152 2009a T1 as a :class:`~services.medical.volume.MedicalVolume` (its own grid)."""
    import nibabel as nib
    from scipy import ndimage

    from services.medical.data.brain import mni152_paths
    from services.medical.volume import canonicalise

    paths = mni152_paths()
    t1 = nib.load(str(paths["t1"]))
    tissue = sum(np.asarray(nib.load(str(paths[k])).dataobj, np.float32) for k in ("gm", "wm"))
    mask = ndimage.binary_fill_holes(ndimage.binary_closing(tissue > 0.2 * float(tissue.max()), iterations=3))
    values = np.where(ndimage.binary_dilation(mask, iterations=1), np.asarray(t1.dataobj, np.float32), 0.0)
    return canonicalise(values, t1.affine, modality="", format="nifti")


def default_training_stacks(size: int = 128, min_foreground: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(train, calibration) 2.5D stacks ``(n, 3, size, size)`` of the MNI template; every 5th slice calibrates."""
    from services.medical.pipeline import training_stacks

    stacks = training_stacks([mni152_volume()], None, offset=1, min_foreground=min_foreground, size=size)
    held = np.zeros(len(stacks), bool)
    held[2::5] = True
    return stacks[~held], stacks[held]


def train_default_model(store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None
                        ) -> StoredModel:
    """Fit Multi-AD on the MNI152 slices and calibrate on the held-out fifth (about a minute on 2 cores)."""
    from services.medical.detectors.multi_ad import MedicalMultiADDetector

    config = {**DEFAULT_CONFIG, "show_progress": progress, **(overrides or {})}
    train, calibration = default_training_stacks(int(config["image_size"] or 128), float(config["min_foreground"]))
    return fit_and_store(store, SERVICE, MedicalMultiADDetector(config), train, calibration)
