"""Tipsomaly's pixel-prompt training on an auxiliary annotated set, on the random-weights tiny VLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from services.core.errors import InvalidInputError
from services.vision.detectors.tipsomaly import TipsomalyDetector
from services.vision.detectors.tipsomaly.prompt_training import dice_loss, focal_loss
from tests.contract.cases import write_tiny_vlm

SIZE = 32


def _auxiliary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Grey textured images ``(n, 32, 32, 3)`` with a bright 10-px square on every other one, and its masks."""
    rng = np.random.default_rng(seed)
    images = rng.integers(60, 110, (n, SIZE, SIZE, 3)).astype(np.uint8)
    masks = np.zeros((n, SIZE, SIZE), bool)
    for i in range(0, n, 2):
        r, c = rng.integers(0, SIZE - 10, 2)
        images[i, r : r + 10, c : c + 10] = 250
        masks[i, r : r + 10, c : c + 10] = True
    return images, masks


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> TipsomalyDetector:
    checkpoint = write_tiny_vlm(tmp_path_factory.mktemp("vlm"))
    model = TipsomalyDetector({"image_size": SIZE, "n_ctx": 4, "smoothing_sigma": 0.0}, checkpoint=str(checkpoint))
    return model.fit(np.zeros((4, SIZE, SIZE, 3), np.uint8))


def test_losses_are_zero_for_a_perfect_map_and_large_for_the_inverse() -> None:
    mask = torch.zeros(2, 8, 8)
    mask[:, 2:5, 2:5] = 1
    perfect = torch.stack([1 - mask, mask], 1)
    assert float(dice_loss(mask, mask)) < 1e-6 and float(focal_loss(perfect, mask)) < 1e-4
    assert float(dice_loss(1 - mask, mask)) > 0.9 and float(focal_loss(perfect.flip(1), mask)) > 5


def test_training_fits_the_pixel_context_only_and_is_saved(detector: TipsomalyDetector) -> None:
    images, masks = _auxiliary(16, seed=0)
    before_context = detector.prompts_.context.detach().clone()
    image_text = detector.prompts_.image_text.clone()
    before = roc_auc_score(masks.ravel(), detector.explain(images).ravel())
    result = detector.train_pixel_prompts(images, masks, epochs=25)
    assert len(result.epoch_losses) == 25 and result.epoch_losses[-1] < 0.8 * result.epoch_losses[0]
    after = roc_auc_score(masks.ravel(), detector.explain(images).ravel())
    assert after > before + 0.05, (before, after)
    assert not torch.equal(detector.prompts_.context, before_context)
    assert torch.equal(detector.prompts_.image_text, image_text), "image-level prompts stay the fixed ensembles"
    summary = detector.training_summary_["prompts"]
    assert summary["pixel_context_trained"] is True and summary["auxiliary_images"] == 16
    restored = TipsomalyDetector(detector.config)
    restored.load_state_dict(detector.state_dict())
    restored.fitted_ = True
    np.testing.assert_allclose(restored.explain(images), detector.explain(images), atol=1e-5)


def test_masks_must_match_the_images(detector: TipsomalyDetector) -> None:
    images, masks = _auxiliary(4, seed=1)
    with pytest.raises(InvalidInputError, match="masks must be"):
        detector.train_pixel_prompts(images, masks[:3], epochs=1)


def test_unavailable_without_a_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLYAD_VISION_TIPSOMALY_CHECKPOINT", raising=False)
    assert "no VLM checkpoint configured" in TipsomalyDetector.unavailable_reason()
    monkeypatch.setenv("POLYAD_VISION_TIPSOMALY_CHECKPOINT", str(tmp_path / "missing.safetensors"))
    assert "is not a file" in TipsomalyDetector.unavailable_reason()
    monkeypatch.setenv("POLYAD_VISION_TIPSOMALY_CHECKPOINT", str(write_tiny_vlm(tmp_path)))
    assert TipsomalyDetector.unavailable_reason() == ""
