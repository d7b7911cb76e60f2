"""Patch-flow components (coupling invertibility, log-det, positional conditioning) and the detector;
PatchCore's coreset and the shared vision input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from services.core.contract import METADATA_FILE
from services.core.errors import InvalidInputError
from services.vision.data import InspectionSet, inspection_set
from services.vision.detectors.patch_flow import PatchFlowDetector
from services.vision.detectors.patch_flow.model import (
    AffineCoupling,
    ConditionalFlow,
    FeatureAdapter,
    neighbor_aware_features,
    positional_encoding,
)
from services.vision.detectors.patchcore import PatchCoreDetector, greedy_coreset

TINY = {"image_size": 64, "layers": [0], "train_steps": 150, "batch_patches": 1024, "flow_steps": 4,
        "flow_hidden": 64}


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every parameter (including the zero-initialised last layers) random values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=generator))


def test_coupling_is_invertible_and_its_logdet_matches_the_jacobian() -> None:
    torch.manual_seed(0)
    coupling = AffineCoupling(d=4, cond_dim=4, hidden=8).double()
    _randomise(coupling)
    x, cond = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    z, logdet = coupling(x, cond)
    assert not torch.allclose(z, x)
    torch.testing.assert_close(coupling.inverse(z, cond), x, rtol=1e-10, atol=1e-10)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v, c=cond[i : i + 1]: coupling(v[None], c)[0][0], x[i])
        torch.testing.assert_close(logdet[i], torch.linalg.slogdet(jac).logabsdet, rtol=1e-8, atol=1e-8)


def test_flow_is_invertible_and_its_logdet_matches_the_jacobian() -> None:
    torch.manual_seed(1)
    flow = ConditionalFlow(d=6, cond_dim=4, steps=3, hidden=8, clamp=2.0, seed=3).double()
    x, cond = torch.randn(64, 6, dtype=torch.float64) * 2 + 1, torch.randn(64, 4, dtype=torch.float64)
    flow.initialise(x, cond)
    _randomise(flow.couplings, seed=4)
    z, logdet = flow(x, cond)
    torch.testing.assert_close(flow.inverse(z, cond), x, rtol=1e-9, atol=1e-9)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v[None], cond[:1])[0][0], x[0])
    torch.testing.assert_close(logdet[0], torch.linalg.slogdet(jac).logabsdet, rtol=1e-8, atol=1e-8)
    nll = flow.nll(x, cond)
    assert nll.shape == (64,) and torch.isfinite(nll).all()


def test_positional_conditioning_changes_the_output() -> None:
    pe = positional_encoding(4, 5, 16)
    assert pe.shape == (20, 16)
    assert len({tuple(row.round(decimals=5).tolist()) for row in pe}) == 20  # every position distinct
    flow = ConditionalFlow(d=4, cond_dim=16, steps=2, hidden=8, clamp=2.0)
    _randomise(flow.couplings)
    x = torch.randn(1, 4).expand(20, 4)
    z, _ = flow(x, pe)
    assert (z - z[0]).abs().amax(1)[1:].min() > 1e-4  # same feature, different positions -> different z


def test_neighbor_aware_features_and_adapter() -> None:
    fine, coarse = torch.zeros(1, 2, 8, 8), torch.ones(1, 3, 4, 4)
    fine[0, :, 4, 4] = 9.0
    out = neighbor_aware_features([fine, coarse], 3)
    assert out.shape == (1, 5, 8, 8)
    assert out[0, 0, 3, 3] == pytest.approx(1.0) and out[0, 0, 0, 0] == 0.0  # 9 spread over a 3x3 window
    torch.testing.assert_close(out[0, 2:], torch.ones(3, 8, 8))
    adapter = FeatureAdapter(6)
    x = torch.randn(10, 6)
    y, logdet = adapter(x)
    torch.testing.assert_close(y, x)  # identity at initialisation
    assert float(logdet.detach()) == 0.0
    with torch.no_grad():
        adapter.weight.copy_(torch.diag(torch.arange(6.0)))
    y, logdet = adapter(x)
    torch.testing.assert_close(y, x * torch.arange(1.0, 7.0))
    assert float(logdet.detach()) == pytest.approx(float(torch.arange(1.0, 7.0).log().sum()))


@pytest.fixture(scope="module")
def data() -> InspectionSet:
    return inspection_set("gravel", n_train=16, n_test=24, size=64, seed=1)


@pytest.fixture(scope="module")
def fitted(data: InspectionSet) -> PatchFlowDetector:
    return PatchFlowDetector(TINY).fit(data.train_images)


def test_tiny_training_ranks_defects_higher(fitted: PatchFlowDetector, data: InspectionSet) -> None:
    scores = fitted.score(data.test_images)
    assert scores.dtype == np.float32 and scores.shape == (24,)
    assert scores[data.test_labels == 1].mean() > scores[data.test_labels == 0].mean()
    assert fitted.training_summary_["grid"] == [16, 16]


def test_maps_have_the_input_resolution(fitted: PatchFlowDetector, data: InspectionSet) -> None:
    images = np.stack([np.resize(im, (80, 96, 3)) for im in data.test_images[:3]])
    scores, maps = fitted.score_and_maps(images)
    assert maps.shape == (3, 80, 96) and maps.dtype == np.float32 and np.isfinite(maps).all()
    np.testing.assert_allclose(fitted.explain(images), maps)
    np.testing.assert_allclose(fitted.score(images), scores)
    as_float = fitted.score(data.test_images[:4].astype(np.float32) / 255.0)
    np.testing.assert_allclose(as_float, fitted.score(data.test_images[:4]), rtol=1e-4, atol=1e-5)


def test_save_load_gives_identical_maps(fitted: PatchFlowDetector, data: InspectionSet, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    reloaded = PatchFlowDetector.load(tmp_path)
    a, b = fitted.score_and_maps(data.test_images[:6]), reloaded.score_and_maps(data.test_images[:6])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_per_tap_flows_fit_one_scale_per_tap_and_fuse_on_the_finest_grid(data: InspectionSet,
                                                                         tmp_path: Path) -> None:
    config = {**TINY, "layers": [0, 1], "per_tap_flows": True, "train_steps": 40}
    detector = PatchFlowDetector(config).fit(data.train_images)
    assert [s["grid"] for s in detector.training_summary_["scales"]] == [[16, 16], [8, 8]]
    fine, coarse = detector.scales_
    assert fine.proj.shape[0] != coarse.proj.shape[0]  # each scale whitens its own tap's channels
    x = detector._preprocess(data.test_images[:3])
    with torch.no_grad():
        features = detector._scale_features(x)
        expected = (fine.map(features[0]) + torch.nn.functional.interpolate(
            coarse.map(features[1])[:, None], size=(16, 16), mode="bilinear", align_corners=False)[:, 0]) / 2
        torch.testing.assert_close(detector._raw_maps(x), expected)
    detector.save(tmp_path)
    reloaded = PatchFlowDetector.load(tmp_path)
    np.testing.assert_array_equal(reloaded.score(data.test_images[:4]), detector.score(data.test_images[:4]))


def test_a_model_stored_before_per_tap_flows_existed_loads_as_one_flow(data: InspectionSet,
                                                                       tmp_path: Path) -> None:
    detector = PatchFlowDetector({**TINY, "layers": [0, 1], "per_tap_flows": False, "train_steps": 40})
    detector.fit(data.train_images).save(tmp_path)
    metadata = json.loads((tmp_path / METADATA_FILE).read_text())
    del metadata["config"]["per_tap_flows"]  # what models saved before the field existed hold
    (tmp_path / METADATA_FILE).write_text(json.dumps(metadata))
    assert PatchFlowDetector.Config().per_tap_flows  # the current default differs from how it was built
    reloaded = PatchFlowDetector.load(tmp_path)
    assert not reloaded.config.per_tap_flows and len(reloaded.scales_) == 1
    np.testing.assert_array_equal(reloaded.score(data.test_images[:4]), detector.score(data.test_images[:4]))


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (np.zeros((2, 64, 64), np.uint8), "4-D batch"),
        (np.zeros((2, 64, 64, 4), np.uint8), "3 RGB channels"),
        (np.zeros((1, 16, 64, 3), np.uint8), r"height and width in \[32"),
        (np.full((1, 64, 64, 3), np.nan, np.float32), "finite"),
        (np.full((1, 64, 64, 3), 2.0, np.float32), r"float pixels in \[0, 1\]"),
        (np.zeros((0, 64, 64, 3), np.uint8), "at least one image"),
    ],
)
def test_bad_input_names_expected_and_got(fitted: PatchFlowDetector, batch: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        fitted.score(batch)


def test_patchcore_coreset_and_baseline(data: InspectionSet) -> None:
    points = torch.cat([torch.zeros(50, 2), torch.tensor([[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]])])
    chosen = set(greedy_coreset(points, 4, 128, torch.Generator().manual_seed(0)).tolist())
    assert {50, 51, 52} <= chosen  # k-center picks the far-apart points
    detector = PatchCoreDetector(image_size=64, layers=[0], coreset_ratio=0.1).fit(data.train_images)
    scores, maps = detector.score_and_maps(data.test_images)
    assert maps.shape == (24, 64, 64)
    assert scores[data.test_labels == 1].mean() > scores[data.test_labels == 0].mean()
