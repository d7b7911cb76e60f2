"""DMS2F-HAD detector: fit / score / explain, input checks, save / load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.hyperspectral.detectors.dms2f_had import DMS2FHADDetector
from services.hyperspectral.scenes import make_scene

TINY = {"window": 3, "d_model": 8, "d_state": 4, "latent": 4, "decoder_hidden": 16, "group_size": 40,
        "group_stride": 40, "epochs": 2, "train_pixels": 256, "batch_size": 128, "threads": 1}


@pytest.fixture(scope="module")
def fitted() -> tuple[DMS2FHADDetector, np.ndarray]:
    scene = make_scene("urban", seed=2, size=(20, 24))
    return DMS2FHADDetector(TINY).fit(scene.cube), scene.cube


def test_fit_summary_and_shapes(fitted: tuple[DMS2FHADDetector, np.ndarray]) -> None:
    det, cube = fitted
    summary = det.training_summary_
    assert summary["input_bands"] == 220 and summary["bands_used"] == 200 and len(summary["bands_dropped"]) == 20
    assert 1 <= summary["epochs_run"] <= 2 and summary["best_heldout_mse"] > 0
    scores = det.score(cube)
    assert scores.shape == (20 * 24,) and scores.dtype == np.float32 and np.isfinite(scores).all()
    heat = det.explain(cube)
    assert heat.shape == (20, 24)
    np.testing.assert_array_equal(heat.reshape(-1), scores)
    both = det.score_and_explain(cube)
    np.testing.assert_array_equal(both[0], scores)
    gate = det.gate_map(cube)
    assert gate.shape == (20, 24) and (gate > 0).all() and (gate < 1).all()
    assert det.input_spec().shape == [-1, -1, 220]


def test_uint16_input_is_accepted(fitted: tuple[DMS2FHADDetector, np.ndarray]) -> None:
    det, cube = fitted
    assert det.score((cube * 1000).clip(0, 65535).astype(np.uint16)).shape == (480,)


@pytest.mark.parametrize(("bad", "match"), [
    (np.zeros((4, 220), dtype=np.float32), "rank 3"),
    (np.zeros((4, 4, 100), dtype=np.float32), "fitted on 220 bands"),
    (np.full((4, 4, 220), np.nan, dtype=np.float32), "NaN"),
    (np.zeros((4, 4, 220), dtype=np.complex64), "numeric"),
    (np.zeros((0, 4, 220), dtype=np.float32), "empty"),
])
def test_bad_input_raises_invalid_input(fitted: tuple[DMS2FHADDetector, np.ndarray], bad: np.ndarray,
                                        match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        fitted[0].score(bad)


def test_oversize_cube_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="at most 100"):
        DMS2FHADDetector(TINY, max_pixels=100).fit(np.zeros((11, 10, 5), dtype=np.float32))


def test_save_load_round_trip(fitted: tuple[DMS2FHADDetector, np.ndarray], tmp_path: Path) -> None:
    det, cube = fitted
    det.save(tmp_path)
    again = DMS2FHADDetector.load(tmp_path)
    np.testing.assert_array_equal(again.score(cube), det.score(cube))
    assert again.n_bands == 220 and again.training_summary_ == det.training_summary_


def test_window_must_be_odd() -> None:
    with pytest.raises(ValueError, match="odd"):
        DMS2FHADDetector(window=4)


def test_metric_state_is_saved_and_mse_variant_has_none(fitted: tuple[DMS2FHADDetector, np.ndarray]) -> None:
    det, cube = fitted
    state = det.state_dict()
    assert state["metric.precision"].shape == (200, 200) and state["metric.mean"].shape == (200,)
    mse = DMS2FHADDetector(TINY, error_metric="mse", epochs=1).fit(cube[:10, :10])
    assert not any(key.startswith("metric.") for key in mse.state_dict())
    assert np.isfinite(mse.score(cube[:10, :10])).all()
