"""3-D ROC metrics against a hand-computed case; RX baselines against spectral.rx."""

from __future__ import annotations

import numpy as np
import pytest

from services.hyperspectral.baselines import global_rx, isolation_forest, local_rx, pca_reduce
from services.hyperspectral.metrics import roc_summary


def test_roc_summary_hand_computed() -> None:
    # scores normalise to τ-space [0, 1/3, 2/3, 1]; labels: the two highest are targets.
    labels = np.array([0, 0, 1, 1])
    s = roc_summary(labels, np.array([0.0, 1.0, 2.0, 3.0]))
    assert s.auc_pd_pf == pytest.approx(1.0)
    # Pd(τ) = 1 for τ ≤ 2/3, then 1/2 at τ = 1 (linear between thresholds): 2/3 + (1 + 1/2)/2 · 1/3 = 0.9167
    assert s.auc_tau_pd == pytest.approx(2 / 3 + 0.75 / 3)
    # Pf(τ) = 1 at 0, 1/2 at 1/3, 0 at 2/3 and 1: (1 + 1/2)/2 · 1/3 + (1/2)/2 · 1/3 = 1/3
    assert s.auc_tau_pf == pytest.approx(1 / 3)
    flipped = roc_summary(labels, np.array([3.0, 2.0, 1.0, 0.0]))
    assert flipped.auc_pd_pf == pytest.approx(0.0)
    with pytest.raises(ValueError, match="both"):
        roc_summary(np.zeros(4), np.arange(4.0))


def _cube_with_anomaly() -> tuple[np.ndarray, tuple[int, int]]:
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(24, 26, 6)) @ rng.normal(size=(6, 6))
    cube[11, 13] += 8.0
    return cube.astype(np.float32), (11, 13)


def test_global_rx_flags_the_outlier() -> None:
    cube, where = _cube_with_anomaly()
    rx = global_rx(cube)
    assert rx.shape == cube.shape[:2] and np.unravel_index(rx.argmax(), rx.shape) == where


def test_local_rx_matches_spectral_rx_away_from_borders() -> None:
    import spectral

    cube, where = _cube_with_anomaly()
    ours = local_rx(cube, 3, 9, components=6, ridge=0.0)
    ref = spectral.rx(cube.astype(np.float64), window=(3, 9))
    np.testing.assert_allclose(ours[4:-4, 4:-4], ref[4:-4, 4:-4], rtol=2e-2, atol=1e-3)
    assert np.unravel_index(ours.argmax(), ours.shape) == where


def test_isolation_forest_and_pca_shapes() -> None:
    cube, where = _cube_with_anomaly()
    assert pca_reduce(cube, 3).shape == (24, 26, 3)
    scores = isolation_forest(cube, components=6)
    assert scores.shape == (24, 26) and np.unravel_index(scores.argmax(), scores.shape) == where
