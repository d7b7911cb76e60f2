"""Built-in brain MRI set: train on the MNI152 T1 template (``nilearn`` package data), test on Colin27.

Both T1 volumes are resampled (trilinear, affine only: both already live in MNI space) onto one grid, the
FSL MNI152 1 mm box ``182 x 218 x 182`` (``GRID_SHAPE``/``GRID_AFFINE``, RAS), skull-stripped and normalised
(the 99.5th percentile of brain voxels -> 1). MNI152 09a's brain mask is its grey + white matter
probability > 0.2, closed and filled; Colin27's is its own brain extraction (``ch2bet``, Debian
``mricron-data``) within the dilated template mask. Training: MNI axial slices showing enough brain (every
5th held out for validation). Test: Colin27 slices of the same axial range, half with a lesion implanted
inside the brain mask (:mod:`services.medical.data.lesions`; hypo/hyper-intense, ring, mixed; 3-D bodies
with mass effect; masks exact).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

from services.medical.data.common import MissingDataError, SliceSet
from services.medical.data.lesions import implant_lesion
from services.medical.slices import slice_stacks

__all__ = ["GRID_AFFINE", "GRID_SHAPE", "brain_set", "brain_volumes", "colin27_paths", "mni152_paths"]

GRID_SHAPE = (182, 218, 182)
GRID_AFFINE = np.array([[1.0, 0, 0, -91], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
COLIN_DIR = Path(os.environ.get("POLYAD_COLIN27_DIR", "/usr/share/mricron/templates"))
DEBIAN_HINT = "apt-get install mricron-data  (Colin27: ch2.nii.gz, ch2bet.nii.gz)"


def mni152_paths() -> dict[str, Path]:
    """The MNI152 2009a T1 and tissue maps shipped inside the installed ``nilearn`` wheel (no download)."""
    try:
        import nilearn
    except ImportError as error:
        raise MissingDataError("the MNI152 template ships with nilearn: pip install nilearn") from error
    folder = Path(nilearn.__file__).parent / "datasets" / "data"
    paths = {k: folder / f"mni_icbm152_{k}_tal_nlin_sym_09a_converted.nii.gz" for k in ("t1", "gm", "wm")}
    if missing := [str(p) for p in paths.values() if not p.is_file()]:
        raise MissingDataError(f"nilearn's MNI152 files are missing: {missing}; reinstall nilearn")
    return paths


def colin27_paths() -> dict[str, Path]:
    """Colin27 T1 and its brain extraction from Debian's ``mricron-data``; a clear error when absent."""
    paths = {"t1": COLIN_DIR / "ch2.nii.gz", "bet": COLIN_DIR / "ch2bet.nii.gz"}
    if missing := [str(p) for p in paths.values() if not p.is_file()]:
        raise MissingDataError(f"Colin27 files {missing} are absent; install them with: {DEBIAN_HINT}")
    return paths


def _resample(path: Path) -> np.ndarray:
    """A NIfTI resampled onto ``GRID_SHAPE`` / ``GRID_AFFINE`` (trilinear) -> float32 ``(182, 218, 182)``."""
    import nibabel as nib

    image = nib.load(str(path))
    transform = np.linalg.inv(image.affine) @ GRID_AFFINE
    values = np.asarray(image.dataobj, dtype=np.float32)
    return ndimage.affine_transform(values, transform[:3, :3], transform[:3, 3], output_shape=GRID_SHAPE,
                                    order=1, mode="constant", cval=0.0).astype(np.float32)


def _normalise(t1: np.ndarray, mask: np.ndarray) -> np.ndarray:
    brain = np.where(mask, t1, 0.0)
    return np.clip(brain / np.percentile(brain[mask], 99.5), 0.0, 1.0).astype(np.float32)


@functools.cache
def brain_volumes() -> dict[str, np.ndarray]:
    """Skull-stripped, normalised volumes on the common grid: ``mni``, ``colin`` (float32 in [0, 1]) and their
    brain masks ``mni_mask``, ``colin_mask`` (bool), all ``(182, 218, 182)`` RAS."""
    mni, colin = mni152_paths(), colin27_paths()
    tissue = _resample(mni["gm"]) + _resample(mni["wm"])
    mni_mask = ndimage.binary_fill_holes(ndimage.binary_closing(tissue > 0.2 * 255, iterations=3))
    mni_mask = ndimage.binary_dilation(mni_mask, iterations=1)
    colin_mask = (_resample(colin["bet"]) > 1.0) & ndimage.binary_dilation(mni_mask, iterations=4)
    colin_mask = ndimage.binary_fill_holes(ndimage.binary_opening(colin_mask, iterations=1))
    return {"mni": _normalise(_resample(mni["t1"]), mni_mask), "mni_mask": mni_mask,
            "colin": _normalise(_resample(colin["t1"]), colin_mask), "colin_mask": colin_mask}


def _axial_range(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """Axial indices whose brain area is at least ``min_fraction`` of the largest slice's."""
    area = mask.sum(axis=(0, 1))
    return np.flatnonzero(area >= min_fraction * area.max())


def brain_set(n_test: int = 60, seed: int = 0, offset: int = 1, min_fraction: float = 0.3) -> SliceSet:
    """The brain set (see the module doc); test items alternate normal / lesion, slice indices drawn by ``seed``."""
    v = brain_volumes()
    rng = np.random.default_rng(seed)
    axial = _axial_range(v["mni_mask"], min_fraction)
    val_pos = axial[2::5]
    train_pos = np.setdiff1d(axial, val_pos)
    test_range = np.intersect1d(axial, _axial_range(v["colin_mask"], min_fraction))
    test_pos = np.sort(rng.choice(test_range, size=n_test, replace=n_test > len(test_range)))
    stacks, masks, labels, kinds = [], [], [], []
    for i, k in enumerate(test_pos):
        lo, hi = max(0, k - 20), min(GRID_SHAPE[2], k + 21)
        slab = v["colin"][:, :, lo:hi]
        if i % 2:
            organ = v["colin_mask"][:, :, lo:hi]
            inner = ndimage.binary_erosion(organ[:, :, k - lo], iterations=4)
            candidates = np.argwhere(inner)
            x, y = candidates[rng.integers(len(candidates))]
            slab, mask3, kind = implant_lesion(slab, organ, rng, radius=(3.0, 14.0), centre=(x, y, k - lo),
                                               texture_sd=0.06)
            slab = np.clip(slab, 0.0, 1.0)  # bright lesions saturate like the rest of the normalised volume
            masks.append(mask3[:, :, k - lo])
        else:
            masks.append(np.zeros(GRID_SHAPE[:2], bool))
            kind = "good"
        stacks.append(slice_stacks(slab, offset, [k - lo])[0])
        labels.append(int(i % 2))
        kinds.append(kind)
    from services.medical.volume import slice_to_display

    return SliceSet(
        name="brain",
        train=slice_stacks(v["mni"], offset, train_pos),
        val=slice_stacks(v["mni"], offset, val_pos),
        test=np.stack(stacks),
        test_labels=np.asarray(labels, np.int64),
        test_masks=slice_to_display(np.stack(masks)).copy(),
        train_pos=train_pos, val_pos=val_pos, test_pos=test_pos, test_kinds=kinds,
    )
