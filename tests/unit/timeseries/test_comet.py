"""COMET detector: shapes, quality on generated data, determinism, persistence, adaptation, streaming."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from services.core.contract import NotFittedError
from services.core.errors import InvalidInputError
from services.timeseries.data import LabelledSeries, generate_multivariate
from services.timeseries.detectors.comet import CometDetector
from services.timeseries.evaluation import auroc

TINY = {
    "window": 128,
    "patch_sizes": (16, 32),
    "d_model": 32,
    "n_heads": 2,
    "codebook_size": 64,
    "memory_size": 512,
    "coreset_pool": 4096,
    "train_steps": 150,
    "max_train_windows": 1024,
    "adapt_every": 32,
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Small models run fastest on one thread (and do not stall when other jobs share the CPUs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data() -> LabelledSeries:
    return generate_multivariate(n_train=3000, n_test=2000, n_channels=2, seed=3)


@pytest.fixture(scope="module")
def fitted(data: LabelledSeries) -> CometDetector:
    return CometDetector(TINY).fit(data.train)


@pytest.fixture(scope="module")
def univariate() -> CometDetector:
    t = np.arange(1500)
    series = np.sin(2 * np.pi * t / 40) + 0.05 * np.random.default_rng(0).standard_normal(len(t))
    return CometDetector(TINY, train_steps=20).fit(series.astype(np.float32))


def _copy(detector: CometDetector) -> CometDetector:
    clone = CometDetector(detector.config)
    clone.load_state_dict(detector.state_dict())
    clone.fitted_ = True
    return clone


def test_scores_shape_dtype_and_quality(fitted: CometDetector, data: LabelledSeries) -> None:
    scores = fitted.score(data.test)
    assert scores.shape == (len(data.test),) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    assert auroc(data.test_labels, scores) > 0.8
    assert fitted.training_summary_["n_channels"] == 2 and fitted.input_spec().shape == [-1, 2]


def test_short_and_one_dimensional_series(univariate: CometDetector) -> None:
    for length in (128, 129):
        scores = univariate.score(np.linspace(-1, 1, length))
        assert scores.shape == (length,) and np.isfinite(scores).all()
    assert univariate.score(np.arange(300, dtype=np.int64)).shape == (300,)
    for length in (1, 5, 127):  # shorter than the window: refused, nothing padded
        with pytest.raises(InvalidInputError, match=f"at least 128 time steps .*got {length}"):
            univariate.score(np.linspace(-1, 1, length))
    with pytest.raises(InvalidInputError, match="at least 128"):
        CometDetector(TINY).fit(np.zeros(100, np.float32))
    with pytest.raises(InvalidInputError, match="at least 128"):
        univariate.score_many([np.zeros(300), np.zeros(3)])


def test_stream_warm_up_scores_zero_then_matches_last_window(univariate: CometDetector) -> None:
    """The first W - 1 stream points score 0.0; later points get their last full window's score."""
    series = np.sin(2 * np.pi * np.arange(400) / 40).astype(np.float32)
    series[300] = 6.0
    state, scores = univariate.initial_stream_state(), []
    for start in range(0, 400, 50):
        step, state = univariate.stream_step(series[start : start + 50], state, adapt=False)
        scores.append(step)
    scores = np.concatenate(scores)
    assert (scores[:127] == 0.0).all() and (scores[127:] != 0.0).all()
    last = univariate.score(series[222:350])  # one window (no overlap averaging), the stream's last
    np.testing.assert_allclose(scores[300:350], last[-50:], rtol=1e-4, atol=1e-5)
    calibration = univariate.stream_calibration_scores(series[:299])
    assert calibration.shape == (299 - 127,) and np.isfinite(calibration).all()


@pytest.mark.parametrize("mode", ["window", "difference"])
def test_drift_normalisations_ignore_a_level_drift(mode: str) -> None:
    """Trained on a seasonal series, scored on the same series lifted by a slow ramp: ``window`` and
    ``difference`` inputs score the drifted copy nearly like the original (under a tenth of the rise
    that the frozen ``global`` normalisation shows)."""
    t = np.arange(3000)
    clean = np.sin(2 * np.pi * t / 40) + 0.05 * np.random.default_rng(1).standard_normal(len(t))
    train, test = clean[:1500].astype(np.float32), clean[1500:].astype(np.float32)
    drifted = test + np.linspace(0, 4, len(test), dtype=np.float32)
    ratios = {}
    for name in ("global", mode):
        detector = CometDetector(TINY, train_steps=30, normalization=name).fit(train)
        ratios[name] = float(np.median(detector.score(drifted)) - np.median(detector.score(test)))
    assert ratios["global"] > 5.0 and ratios[mode] < 0.1 * ratios["global"], ratios


def test_same_seed_same_scores(fitted: CometDetector, data: LabelledSeries) -> None:
    again = CometDetector(TINY).fit(data.train)
    np.testing.assert_array_equal(again.score(data.test), fitted.score(data.test))


def test_save_load_round_trip(fitted: CometDetector, data: LabelledSeries, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"weights.safetensors", "metadata.json"}
    loaded = CometDetector.load(tmp_path)
    assert isinstance(loaded, CometDetector) and loaded.config == fitted.config
    np.testing.assert_array_equal(loaded.score(data.test), fitted.score(data.test))
    assert loaded.training_summary_ == fitted.training_summary_


def test_update_adapts_the_codebook(fitted: CometDetector, data: LabelledSeries) -> None:
    detector = _copy(fitted)
    before = detector.net_.codebook.detach().clone()
    detector.update(data.test[:1000] * 1.05 + 0.05)
    assert not torch.equal(before, detector.net_.codebook.detach())
    assert np.isfinite(detector.score(data.test)).all()
    # the shared fixture was not touched
    torch.testing.assert_close(fitted.net_.codebook.detach(), before)


def test_stream_scores_every_point_without_touching_the_model(
    fitted: CometDetector, data: LabelledSeries
) -> None:
    reference = {k: v.copy() for k, v in fitted.state_dict().items()}
    shared_book = reference["net.codebook"]
    for adapt in (False, True):
        state = fitted.initial_stream_state()
        assert all(isinstance(v, np.ndarray) for v in state.values()) and "codebook" not in state
        scores = []
        for start, size in ((0, 1), (1, 7), (8, 200), (208, 1), (209, 300)):
            step_scores, state = fitted.stream_step(data.test[start : start + size], state, adapt=adapt)
            assert step_scores.shape == (size,) and step_scores.dtype == np.float32
            assert all(isinstance(v, np.ndarray) for v in state.values())
            scores.append(step_scores)
        assert np.isfinite(np.concatenate(scores)).all() and int(state["count"][0]) == 509
        # only an adapting stream carries (and moves) its own codebook copy
        assert ("codebook" in state) == adapt
        if adapt:
            assert state["codebook"].shape == shared_book.shape
            assert not np.array_equal(state["codebook"], shared_book)
            more, _ = fitted.stream_step(data.test[509:520], state, adapt=False)
            assert more.shape == (11,)
    for key, value in fitted.state_dict().items():
        np.testing.assert_array_equal(value, reference[key], err_msg=key)


def test_stream_flags_a_spike(univariate: CometDetector) -> None:
    series = np.sin(2 * np.pi * np.arange(400) / 40).astype(np.float32)
    series[300] = 6.0
    state, scores = univariate.initial_stream_state(), []
    for point in series:
        score, state = univariate.stream_step(point[None], state, adapt=False)
        scores.append(score[0])
    assert scores[300] > np.max(scores[150:290])


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (np.array(["a", "b"]), "numeric"),
        (np.zeros((2, 3, 4)), "3-D"),
        (np.zeros((0, 2)), "at least one time step"),
        (np.array([[0.0, np.nan]] * 3), "finite"),
        (np.array([[np.inf, 0.0]] * 3), "finite"),
        (np.zeros((10, 3)), "expected 2 channels"),
        ([[1.0, 2.0], [3.0]], "numeric"),
    ],
)
def test_bad_input_is_rejected(fitted: CometDetector, batch: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        fitted.score(batch)  # type: ignore[arg-type]


def test_not_fitted_and_bad_config() -> None:
    detector = CometDetector(TINY)
    with pytest.raises(NotFittedError):
        detector.score(np.zeros(10))
    with pytest.raises(ValidationError, match="divisors"):
        CometDetector(window=100, patch_sizes=(16,))
    with pytest.raises(ValidationError, match="n_heads"):
        CometDetector(d_model=30, n_heads=4)


def test_bad_stream_state(univariate: CometDetector) -> None:
    with pytest.raises(InvalidInputError, match="initial_stream_state"):
        univariate.stream_step(np.zeros((1, 1)), {}, adapt=False)
    state = univariate.initial_stream_state()
    state["codebook"] = univariate.net_.codebook.detach().numpy()[:1]
    with pytest.raises(InvalidInputError, match="codebook"):
        univariate.stream_step(np.zeros((1, 1)), state, adapt=True)
    state = univariate.initial_stream_state()
    state["buffer"] = state["buffer"][:5]
    with pytest.raises(InvalidInputError, match="buffer"):
        univariate.stream_step(np.zeros((1, 1)), state, adapt=False)


def test_adaptation_skips_windows_with_anomalous_scores(univariate: CometDetector) -> None:
    """A stream whose every window holds a point scored above ``adapt_max_score`` never adapts."""
    series = np.sin(2 * np.pi * np.arange(600) / 40).astype(np.float32)
    series[::50] = 8.0  # a spike in every window
    state = univariate.initial_stream_state()
    for start in range(0, 600, 32):
        _, state = univariate.stream_step(series[start : start + 32], state, adapt=True)
    assert "codebook" not in state  # guarded: nothing absorbed
    unguarded = _copy(univariate)
    unguarded.config = unguarded.Config(**{**univariate.config.model_dump(), "adapt_max_score": None})
    state = unguarded.initial_stream_state()
    for start in range(0, 600, 32):
        _, state = unguarded.stream_step(series[start : start + 32], state, adapt=True)
    assert "codebook" in state
