"""Multi-AD components (SE channel gating, SE student, discrepancy, discriminator, loss) and the detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from services.vision.backbone import TAP_CHANNELS, EfficientNetLite0
from services.vision.data import InspectionSet, inspection_set
from services.vision.detectors.multi_ad import MultiADDetector
from services.vision.detectors.multi_ad.detector import focal_dice_loss
from services.vision.detectors.multi_ad.model import Discriminator, SEBlock, SEStudent, discrepancy

TINY = {"image_size": 64, "kd_steps": 80, "kd_crop": 64, "kd_batch": 8, "synthetic_per_image": 1,
        "disc_steps": 40, "disc_batch": 8, "student_width": 16}


def test_se_block_shape_and_channel_gating() -> None:
    torch.manual_seed(0)
    block = SEBlock(8, reduction=2)
    x = torch.randn(3, 8, 5, 7)
    gate = block.gate(x)
    assert gate.shape == (3, 8, 1, 1) and ((gate > 0) & (gate < 1)).all()
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x * gate)
    with torch.no_grad():  # close channel 2's gate: that channel is silenced, the others pass
        block.excite.bias[2] = -1e4
    out = block(x)
    assert out[:, 2].abs().max() < 1e-6 and out[:, 3].abs().max() > 0


def test_student_matches_teacher_taps() -> None:
    teacher = EfficientNetLite0(pretrained=False)
    student = SEStudent(TAP_CHANNELS[:3], width=8, blocks=1)
    x = torch.randn(2, 3, 96, 64)
    for t, s in zip(teacher.features(x)[:3], student(x), strict=True):
        assert t.shape == s.shape
    assert sum(isinstance(m, SEBlock) for m in student.modules()) == 3


def test_discrepancy_and_discriminator_shapes() -> None:
    t = [torch.randn(2, 4, 16, 16), torch.randn(2, 6, 8, 8)]
    channel, maps = discrepancy(t, [v.clone() * 3 for v in t])  # same direction -> no discrepancy
    assert maps.shape == (2, 2, 16, 16) and maps.abs().max() < 1e-6
    channel, maps = discrepancy(t, [-v for v in t])  # opposite direction -> cosine distance 2
    torch.testing.assert_close(maps, torch.full_like(maps, 2.0))
    assert [c.shape for c in channel] == [v.shape for v in t]
    logits = Discriminator((4, 6), reduced=4, width=8)(channel, maps)
    assert logits.shape == (2, 16, 16)


def test_focal_dice_loss_prefers_the_right_mask() -> None:
    target = torch.zeros(1, 8, 8)
    target[0, 2:5, 2:5] = 1
    right, wrong = (target * 2 - 1) * 6, -(target * 2 - 1) * 6
    assert focal_dice_loss(right, target, 2.0) < 0.1 < focal_dice_loss(wrong, target, 2.0)


@pytest.fixture(scope="module")
def data() -> InspectionSet:
    return inspection_set("brick", n_train=16, n_test=24, size=64, seed=2)


@pytest.fixture(scope="module")
def fitted(data: InspectionSet) -> MultiADDetector:
    return MultiADDetector(TINY).fit(data.train_images)


def test_discriminator_uses_train_time_synthesis(data: InspectionSet, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.vision.data as vision_data

    calls: list[tuple[int, ...]] = []
    original = vision_data.synthesize_training_anomaly

    def spy(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        calls.append(image.shape)
        return original(image, rng)

    monkeypatch.setattr(vision_data, "synthesize_training_anomaly", spy)
    config = {**TINY, "kd_steps": 2, "disc_steps": 2, "synthetic_per_image": 2}
    MultiADDetector(config).fit(data.train_images[:4])
    assert calls == [(64, 64, 3)] * 8


def test_tiny_training_ranks_defects_higher(fitted: MultiADDetector, data: InspectionSet) -> None:
    scores = fitted.score(data.test_images)
    assert scores.dtype == np.float32 and scores.shape == (24,)
    assert scores[data.test_labels == 1].mean() > scores[data.test_labels == 0].mean()
    summary = fitted.training_summary_
    assert {"kd_loss", "disc_loss", "fit_seconds"} <= set(summary) and len(summary["scale"]) == 3


def test_maps_have_the_input_resolution(fitted: MultiADDetector, data: InspectionSet) -> None:
    images = np.stack([np.resize(im, (72, 100, 3)) for im in data.test_images[:3]])
    scores, maps = fitted.score_and_maps(images)
    assert maps.shape == (3, 72, 100) and maps.dtype == np.float32 and np.isfinite(maps).all()
    np.testing.assert_allclose(fitted.score(images), scores)
    many = fitted.score_many([images[:1], images])
    np.testing.assert_allclose(many[1], scores, rtol=1e-5, atol=1e-6)


def test_save_load_gives_identical_maps(fitted: MultiADDetector, data: InspectionSet, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    reloaded = MultiADDetector.load(tmp_path)
    a, b = fitted.score_and_maps(data.test_images[:6]), reloaded.score_and_maps(data.test_images[:6])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert reloaded.metadata().input_spec.shape == [-1, 64, 64, 3]


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        MultiADDetector(layers=[1, 2])
    with pytest.raises(ValueError, match="kd_crop"):
        MultiADDetector(image_size=64, kd_crop=128)
