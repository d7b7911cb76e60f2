"""The ablation switches of Multi-AD (SE blocks, discriminator) and patch-flow (adapter, neighbours)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.vision.data import inspection_set
from services.vision.detectors.multi_ad import MultiADDetector
from services.vision.detectors.multi_ad.model import SEBlock, SEStudent
from services.vision.detectors.patch_flow import PatchFlowDetector
from tests.contract.cases import SMALL_CONFIGS

MULTI_AD = {**SMALL_CONFIGS["vision.multi_ad"], "kd_steps": 10}
PATCH_FLOW = {**SMALL_CONFIGS["vision.patch_flow"], "train_steps": 15, "batch_patches": 256}


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    data = inspection_set("brick", n_train=8, n_test=2, size=64, seed=0)
    return np.concatenate([data.train_images, data.test_images])


def test_student_without_se_has_no_se_block() -> None:
    with_se, without = SEStudent((16, 24), width=8, blocks=1), SEStudent((16, 24), width=8, blocks=1, se=False)
    assert any(isinstance(m, SEBlock) for m in with_se.modules())
    assert not any(isinstance(m, SEBlock) for m in without.modules())
    x = torch.randn(1, 3, 64, 64)
    assert [o.shape for o in without(x)] == [o.shape for o in with_se(x)]


def test_multi_ad_without_discriminator_scores_the_normalised_discrepancy(crops: np.ndarray) -> None:
    detector = MultiADDetector({**MULTI_AD, "discriminator": False}).fit(crops[:8])
    assert detector.training_summary_["disc_loss"] is None
    x = detector._preprocess(crops[8:])
    _, maps = detector._discrepancy(x)
    torch.testing.assert_close(detector._raw_maps(x), (maps / detector.scale_.view(1, -1, 1, 1)).mean(1))
    untrained = MultiADDetector({**MULTI_AD, "discriminator": False})
    untrained._build()
    for trained, initial in zip(detector.discriminator_.parameters(), untrained.discriminator_.parameters(),
                                strict=True):
        torch.testing.assert_close(trained, initial)  # never trained, never used


def test_patch_flow_without_adapter_leaves_it_out(crops: np.ndarray) -> None:
    config = PATCH_FLOW
    plain = PatchFlowDetector({**config, "adapter": False}).fit(crops[:8])
    adapted = PatchFlowDetector(config).fit(crops[:8])
    (plain_scale,), (adapted_scale,) = plain.scales_, adapted.scales_
    assert plain_scale.adapter.weight.abs().max() == 0  # still the identity: not trained
    assert adapted_scale.adapter.weight.abs().max() > 0
    z = torch.randn(5, plain_scale.proj.shape[1])
    pos = torch.zeros(5, config.get("pos_dim", 32))
    torch.testing.assert_close(plain_scale._nll(z, pos), plain_scale.flow.nll(z, pos))


def test_patch_flow_neighbourhood_one_uses_raw_patches(crops: np.ndarray) -> None:
    detector = PatchFlowDetector({**PATCH_FLOW, "neighbourhood": 1}).fit(crops[:8])
    assert detector.score(crops[8:]).shape == (2,)
