"""The second evaluation set: holdout photographs, independent defect suite, disjoint regions."""

from __future__ import annotations

import numpy as np
import pytest

from services.vision.holdout import holdout_set, regions
from services.vision.holdout_defects import HOLDOUT_DEFECTS, HOLDOUT_KINDS, SMALL_KINDS


@pytest.mark.parametrize("kind", HOLDOUT_KINDS)
def test_each_defect_changes_only_pixels_inside_its_mask(kind: str) -> None:
    rng = np.random.default_rng(7)
    image = holdout_set("ihc", n_train=1, n_calibration=1, n_test=2, size=96, seed=0).train_images[0]
    out, mask = HOLDOUT_DEFECTS[kind](image, rng)
    changed = (np.clip(np.rint(out), 0, 255).astype(np.uint8) != image).any(-1)
    assert mask.any() and changed.any()
    assert not (changed & ~mask).any(), f"{kind} changed pixels outside its mask"
    if kind in SMALL_KINDS:
        assert mask.sum() < 0.01 * mask.size


@pytest.mark.parametrize("shape", [(512, 512), (872, 1000)])
def test_regions_share_no_pixel_and_are_large_enough(shape: tuple[int, int]) -> None:
    index = np.arange(shape[0] * shape[1]).reshape(shape)  # each pixel's own number
    parts = {name: set(view.ravel().tolist()) for name, view in regions(index).items()}
    assert not (parts["train"] & parts["calibration"] or parts["train"] & parts["test"]
                or parts["calibration"] & parts["test"])
    assert all(min(view.shape) >= 128 for view in regions(index).values())  # room for a 128-px crop


def test_holdout_set_is_labelled_and_deterministic() -> None:
    a = holdout_set("moon", n_train=2, n_calibration=3, n_test=12, size=64, seed=4)
    b = holdout_set("moon", n_train=2, n_calibration=3, n_test=12, size=64, seed=4)
    assert a.train_images.shape == (2, 64, 64, 3) and a.calibration_images.shape == (3, 64, 64, 3)
    assert a.test_labels.tolist() == [0, 1] * 6
    assert all((k == "good") == (label == 0) for k, label in zip(a.test_defects, a.test_labels, strict=True))
    assert all(m.any() == bool(label) for m, label in zip(a.test_masks, a.test_labels, strict=True))
    np.testing.assert_array_equal(a.test_images, b.test_images)
    assert "blur" not in a.test_defects  # the smooth moon cannot show a blur: replaced by the next kind
    with pytest.raises(ValueError, match="choose from"):
        holdout_set("nope")
