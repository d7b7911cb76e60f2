"""Evaluation lesions (inside the organ, exact masks), the built-in sets, the BMAD loader, train-time synthesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.medical.data.lesions import LESION_KINDS, implant_lesion
from services.medical.synthesis import synthesize_slice_anomaly


@pytest.mark.parametrize("kind", LESION_KINDS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_lesion_stays_inside_the_organ(kind: str, ndim: int) -> None:
    rng = np.random.default_rng(1)
    shape = (48,) * ndim
    grid = np.indices(shape) - 24
    organ = (grid**2).sum(0) <= 18**2
    image = np.where(organ, 0.6, 0.0) + 0.01 * rng.normal(size=shape)
    out, mask, got = implant_lesion(image, organ, rng, radius=(3, 6), kind=kind)
    assert got == kind and mask.any() and not (mask & ~organ).any()
    np.testing.assert_array_equal(out[~organ], image[~organ])  # nothing changes outside the organ
    changed = np.abs(out - image)[mask].mean()
    assert changed > 0.05


def test_oct_and_ct_sets_are_labelled() -> None:
    from services.medical.data.ct import ct_set
    from services.medical.data.oct import oct_set

    for data in (oct_set(4, 2, 6, seed=0, h=64, w=96), ct_set(4, 2, 6, seed=0, size=96)):
        assert data.train.shape[1] == 3 and data.train.dtype == np.float32
        assert data.train.min() >= 0 and data.train.max() <= 1
        assert list(data.test_labels) == [0, 1, 0, 1, 0, 1]
        assert (data.test_masks.any(axis=(1, 2)) == data.test_labels.astype(bool)).all()


def test_brain_set_lesions_inside_the_test_subjects_brain() -> None:
    from services.medical.data.brain import brain_set, brain_volumes
    from services.medical.data.common import MissingDataError
    from services.medical.volume import slice_to_display

    try:
        data = brain_set(n_test=6, seed=0)
        mask = brain_volumes()["colin_mask"]
    except MissingDataError as error:
        pytest.skip(str(error))
    assert data.train.shape[1:] == (3, 218, 182) and len(data.val) > 0
    for label, lesion, pos in zip(data.test_labels, data.test_masks, data.test_pos, strict=True):
        assert lesion.any() == bool(label)
        assert not (lesion & ~slice_to_display(mask[:, :, pos])).any()


def test_bmad_layout_loader(tmp_path: Path) -> None:
    from services.medical.data.bmad import load_bmad

    for folder, count in (("train/good", 3), ("test/good/img", 2), ("test/Ungood/img", 2)):
        (tmp_path / folder).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(np.full((40, 40), 50 * i, np.uint8)).save(tmp_path / folder / f"{i}.png")
    (tmp_path / "test/Ungood/label").mkdir(parents=True)
    for i in range(2):
        label = np.zeros((40, 40), np.uint8)
        label[5:10, 5:10] = 255
        Image.fromarray(label).save(tmp_path / "test/Ungood/label" / f"{i}.png")
    data = load_bmad(tmp_path, size=32)
    assert data.train.shape == (3, 3, 32, 32) and data.test.shape == (4, 3, 32, 32)
    assert list(data.test_labels) == [0, 0, 1, 1] and data.test_masks[2:].any(axis=(1, 2)).all()
    assert data.has_masks


def test_train_time_synthesis_marks_what_it_changes() -> None:
    rng = np.random.default_rng(0)
    stack = np.full((3, 64, 64), 0.5, np.float32)
    out, mask = synthesize_slice_anomaly(stack, rng)
    assert out.shape == stack.shape and 0 < mask.mean() < 0.2
    assert np.abs(out - stack)[:, ~mask].max() == 0
