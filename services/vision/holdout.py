"""A second vision evaluation no detector was tuned to: other real photographs, an independent defect suite.

Sources are real images shipped inside the scikit-image wheel that nothing else in the project uses
(``ihc``: an immunohistochemistry micrograph, 512x512 RGB; ``moon``: the lunar surface, 512x512 grey;
``hubble``: the Hubble deep field, 872x1000 RGB). Each image is cut into three disjoint regions (a 16-px gap
between them): training crops from the top half, calibration crops from the bottom-left quarter, test crops
from the bottom-right quarter, each crop at a random row and column of its region. Half of the test crops
carry one defect of :mod:`services.vision.holdout_defects` (kinds cycle), painted at model resolution; a
defect that barely changes the crop (mean change inside its mask below 6 grey levels, 2.5 for ``blur``) is
drawn again, and a kind that stays invisible after 50 draws (blurring the already smooth ``moon``) is
replaced by the next kind; ``test_defects`` records what was painted.
"""

from __future__ import annotations

import functools

import numpy as np

from services.vision.data import ImageDataset, random_crop
from services.vision.holdout_defects import HOLDOUT_DEFECTS, HOLDOUT_KINDS

__all__ = ["HOLDOUT_SOURCES", "holdout_set", "regions"]

HOLDOUT_SOURCES: tuple[str, ...] = ("ihc", "moon", "hubble")
_FUNCTIONS = {"ihc": "immunohistochemistry", "moon": "moon", "hubble": "hubble_deep_field"}
_CROP, _GAP, _TRIES = 128, 16, 50
_MIN_CHANGE = {"blur": 2.5}  # mean grey-level change inside the mask for a visible defect; 6.0 otherwise


@functools.cache
def _source(name: str) -> np.ndarray:
    """The photograph ``(H, W, 3)`` uint8 (grey replicated)."""
    import skimage.data  # local files of the wheel: no download

    image = getattr(skimage.data, _FUNCTIONS[name])()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def regions(image: np.ndarray) -> dict[str, np.ndarray]:
    """Views of the train (top half), calibration (bottom left) and test (bottom right) regions of ``image``."""
    h, w = image.shape[:2]
    top, left = h // 2 + _GAP // 2, w // 2 + _GAP // 2
    return {
        "train": image[: h // 2 - _GAP // 2],
        "calibration": image[top:, : w // 2 - _GAP // 2],
        "test": image[top:, left:],
    }


def _defective(crop: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """Paint ``kind`` (or, if it stays invisible, a later kind) on ``crop``: uint8 image, bool mask, kind."""
    start = HOLDOUT_KINDS.index(kind)
    for kind in HOLDOUT_KINDS[start:] + HOLDOUT_KINDS[:start]:
        for _ in range(_TRIES):
            out, mask = HOLDOUT_DEFECTS[kind](crop, rng)
            out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
            if mask.any() and np.abs(out[mask].astype(float) - crop[mask]).mean() >= _MIN_CHANGE.get(kind, 6.0):
                return out, mask, kind
    raise RuntimeError("no defect kind visibly changes this crop")


def holdout_set(
    name: str, n_train: int = 48, n_calibration: int = 48, n_test: int = 60, size: int = 256, seed: int = 0
) -> ImageDataset:
    """Normal train and calibration crops and a labelled test split of one source image (see module doc)."""
    if name not in HOLDOUT_SOURCES:
        raise ValueError(f"unknown holdout source {name!r}; choose from {HOLDOUT_SOURCES}")
    parts = regions(_source(name))
    rng = np.random.default_rng([seed, HOLDOUT_SOURCES.index(name), 4099])
    train = np.stack([random_crop(parts["train"], _CROP, size, rng) for _ in range(n_train)])
    calibration = np.stack([random_crop(parts["calibration"], _CROP, size, rng) for _ in range(n_calibration)])
    images, masks, kinds = [], [], []
    for i in range(n_test):
        crop = random_crop(parts["test"], _CROP, size, rng)
        kind, mask = "good", np.zeros((size, size), dtype=bool)
        if i % 2:
            kind = HOLDOUT_KINDS[(i // 2) % len(HOLDOUT_KINDS)]
            crop, mask, kind = _defective(crop, kind, rng)
        images.append(crop)
        masks.append(mask)
        kinds.append(kind)
    labels = np.asarray([int(k != "good") for k in kinds], dtype=np.int64)
    return ImageDataset(name, train, np.stack(images), labels, np.stack(masks), kinds,
                        [f"holdout:{name}/{i}" for i in range(n_test)], calibration)
