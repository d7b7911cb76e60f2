"""Inspection data: the built-in texture set, train-time synthesis, MVTec AD / VisA loaders on tiny trees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.vision import data
from services.vision.data import (
    CATEGORIES,
    DEFECT_KINDS,
    InspectionSet,
    inspection_set,
    load_mvtec,
    load_visa,
    synthesize_training_anomaly,
)


@pytest.mark.parametrize("category", CATEGORIES)
def test_inspection_set_shapes_labels_and_masks(category: str) -> None:
    s = inspection_set(category, n_train=6, n_test=12, size=128, seed=0)
    assert isinstance(s, InspectionSet) and s.category == category
    assert s.train_images.shape == (6, 128, 128, 3) and s.train_images.dtype == np.uint8
    assert s.test_images.shape == (12, 128, 128, 3) and s.test_images.dtype == np.uint8
    assert s.test_masks.shape == (12, 128, 128) and s.test_masks.dtype == bool
    assert s.test_labels.tolist() == [0, 1] * 6
    has_defect = s.test_masks.reshape(12, -1).any(axis=1)
    np.testing.assert_array_equal(has_defect, s.test_labels == 1)  # masks non-empty exactly for anomalies
    assert {k for k, y in zip(s.test_defects, s.test_labels, strict=True) if y} == set(DEFECT_KINDS)
    assert all(s.test_masks[i].mean() < 0.25 for i in range(12))  # defects are local


def test_inspection_set_is_deterministic_from_the_seed() -> None:
    a, b = inspection_set("gravel", 4, 10, size=96, seed=7), inspection_set("gravel", 4, 10, size=96, seed=7)
    c = inspection_set("gravel", 4, 10, size=96, seed=8)
    for name in ("train_images", "test_images", "test_labels", "test_masks"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.test_images, c.test_images)
    assert not np.array_equal(a.test_masks, c.test_masks)


def test_validation_split_stays_inside_the_training_rows() -> None:
    """``validation=True`` fits on the left and judges on the right half of the training rows, never a test row."""
    (train_rows, _), (test_rows, _) = data.REGIONS["train"], data.REGIONS["test"]
    fit, judge = data.REGIONS["validation_fit"], data.REGIONS["validation_test"]
    for rows, _cols in (fit, judge):
        assert train_rows[0] <= rows[0] and rows[1] <= train_rows[1] and rows[1] <= test_rows[0]
    assert fit[1][1] <= judge[1][0]  # left and right halves share no column
    validation, test = (inspection_set("grass", 3, 4, size=64, seed=0, validation=v) for v in (True, False))
    assert validation.test_labels.tolist() == [0, 1, 0, 1]
    assert not np.array_equal(validation.train_images, test.train_images)
    assert not np.array_equal(validation.test_images, test.test_images)


def test_defects_change_the_image_inside_their_mask() -> None:
    s = inspection_set("brick", 1, 40, size=128, seed=1)
    for image, mask, kind in zip(s.test_images[1::2], s.test_masks[1::2], s.test_defects[1::2], strict=True):
        local = image[mask].astype(float).mean(axis=0)  # mean colour inside vs outside the defect
        rest = image[~mask].astype(float).mean(axis=0)
        assert np.abs(local - rest).max() > 8, kind


def test_train_and_test_crops_come_from_disjoint_texture_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake texture whose value encodes the row (value = row // 2): crops reveal the rows they came from.
    rows = (np.arange(512) // 2).astype(np.uint8)
    fake = np.broadcast_to(rows[:, None, None], (512, 512, 3)).copy()
    monkeypatch.setattr(data, "_texture", lambda category: fake)
    s = inspection_set("grass", n_train=30, n_test=20, size=64, seed=3)
    train_rows = s.train_images.astype(int) * 2
    test_rows = s.test_images[s.test_labels == 0].astype(int) * 2
    assert train_rows.max() < 288 <= 320 <= test_rows.min()


def test_unknown_category_names_the_choices() -> None:
    with pytest.raises(ValueError, match="brick"):
        inspection_set("carpet", 2, 2)


def test_training_synthesis_is_deterministic_and_local() -> None:
    image = inspection_set("grass", 1, 0, size=96, seed=0).train_images[0]
    for seed in range(8):
        out, mask = synthesize_training_anomaly(image, np.random.default_rng(seed))
        again, mask2 = synthesize_training_anomaly(image, np.random.default_rng(seed))
        np.testing.assert_array_equal(out, again)
        np.testing.assert_array_equal(mask, mask2)
        assert out.dtype == np.uint8 and out.shape == image.shape and mask.shape == image.shape[:2]
        assert 0.005 < mask.mean() < 0.15
        np.testing.assert_array_equal(out[~mask], image[~mask])  # nothing changes outside the mask
        assert np.abs(out[mask].astype(int) - image[mask]).mean() > 3
    rect = np.zeros((40, 70, 3), np.uint8)
    out, mask = synthesize_training_anomaly(rect, np.random.default_rng(0))
    assert out.shape == (40, 70, 3) and mask.shape == (40, 70) and mask.any()


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_load_mvtec_layout(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    cat = tmp_path / "bottle"
    for i in range(3):
        _png(cat / "train" / "good" / f"{i:03d}.png", rgb)
    _png(cat / "test" / "good" / "000.png", rgb[..., 0])  # grayscale is converted to RGB
    _png(cat / "test" / "crack" / "000.png", rgb)
    _png(cat / "test" / "crack" / "001.png", rgb)
    mask = np.zeros((40, 40), np.uint8)
    mask[10:20, 5:15] = 255
    _png(cat / "ground_truth" / "crack" / "000_mask.png", mask)
    _png(cat / "ground_truth" / "crack" / "001_mask.png", mask)
    ds = load_mvtec(tmp_path, "bottle", size=20)
    assert ds.train_images.shape == (3, 20, 20, 3) and ds.test_images.shape == (3, 20, 20, 3)
    assert ds.test_labels.tolist() == [1, 1, 0] and ds.test_defects == ["crack", "crack", "good"]
    assert ds.test_masks[0].sum() == 25 and ds.test_masks[0, 5:10, 3:7].all() and not ds.test_masks[2].any()
    (cat / "ground_truth" / "crack" / "001_mask.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"001_mask\.png"):
        load_mvtec(tmp_path, "bottle", size=20)
    with pytest.raises(FileNotFoundError, match="bottle"):
        load_mvtec(tmp_path, "cable")


def test_load_visa_1cls_csv(tmp_path: Path) -> None:
    rgb = np.full((30, 40, 3), 120, np.uint8)
    rows = ["object,split,label,image,mask"]
    for i in range(3):
        _png(tmp_path / "candle" / "Data" / "Images" / "Normal" / f"{i:04d}.JPG", rgb)
        rows.append(f"candle,{'train' if i < 2 else 'test'},normal,candle/Data/Images/Normal/{i:04d}.JPG,")
    mask = np.zeros((30, 40), np.uint8)
    mask[:15] = 1  # VisA masks store class ids, not 255
    _png(tmp_path / "candle" / "Data" / "Images" / "Anomaly" / "000.JPG", rgb)
    _png(tmp_path / "candle" / "Data" / "Masks" / "Anomaly" / "000.png", mask)
    rows.append("candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png")
    rows.append("pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,")  # another object: not read
    (tmp_path / "split_csv").mkdir()
    (tmp_path / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")
    ds = load_visa(tmp_path, "candle", size=16)
    assert ds.train_images.shape == (2, 16, 16, 3) and ds.test_images.shape == (2, 16, 16, 3)
    assert ds.test_labels.tolist() == [0, 1]
    assert ds.test_masks[1, :8].all() and not ds.test_masks[1, 8:].any() and not ds.test_masks[0].any()
    with pytest.raises(FileNotFoundError, match="capsules"):
        load_visa(tmp_path, "capsules")
