"""The plain model math: state-space GP vs a dense GP, GP densities, encodings, likelihoods."""

from __future__ import annotations

import numpy as np

from services.tensorstream.detectors.heterocomp.encoding import CategoricalCodec, ContinuousGrid
from services.tensorstream.detectors.heterocomp.gp_density import fit_log_density, gp_precision
from services.tensorstream.detectors.heterocomp.mixture import categorical_logp, component_loglik, e_step
from services.tensorstream.detectors.heterocomp.scoring import burst_llr
from services.tensorstream.detectors.heterocomp.temporal import StateSpaceGP


def test_kalman_filter_equals_dense_gp_regression() -> None:
    gp = StateSpaceGP(3.0, 0.7, period=12.0, harmonics=2, periodic_variance=1.0, periodic_decay=50.0,
                      trend_drift=0.0, trend_variance=0.0)
    rng = np.random.default_rng(0)
    t = np.arange(30.0)
    y = rng.normal(size=t.size)
    noise = np.full(t.size, 0.3)
    mean, cov = gp.initial(1, np.zeros(1))
    a, q = gp.transition(1.0)
    for i in range(t.size):
        mean, cov = gp.update(mean, cov, y[i : i + 1], noise[i : i + 1])
        if i < t.size - 1:
            mean, cov = gp.predict(mean, cov, a, q)
    mean, cov = gp.predict(mean, cov, a, q)  # predict t = 30
    m_kf, v_kf = gp.predictive(mean, cov)
    k = gp.kernel(t[:, None] - t[None, :]) + np.diag(noise)
    k_star = gp.kernel(30.0 - t)
    m_gp = k_star @ np.linalg.solve(k, y)
    v_gp = gp.kernel(np.zeros(1))[0] - k_star @ np.linalg.solve(k, k_star)
    np.testing.assert_allclose(m_kf[0], m_gp, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(v_kf[0], v_gp, rtol=1e-6, atol=1e-8)


def test_transition_composes_and_stationary_covariance_is_invariant() -> None:
    gp = StateSpaceGP(4.0, 0.5, period=24.0, harmonics=3, periodic_variance=2.0, periodic_decay=100.0,
                      trend_drift=0.0)
    a1, _ = gp.transition(1.0)
    a3, q3 = gp.transition(3.0)
    np.testing.assert_allclose(a1 @ a1 @ a1, a3, atol=1e-10)
    p = gp.stationary()
    p[-1, -1] = 0.0
    np.testing.assert_allclose(a3 @ p @ a3.T + q3, p, atol=1e-10)


def test_gp_density_fits_a_bimodal_histogram_without_a_family() -> None:
    precision = gp_precision(32, 1.5, 9.0)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(8, 1.5, 4000), rng.normal(24, 1.0, 2000)])
    counts = np.bincount(np.clip(x.astype(int), 0, 31), minlength=32)[None].astype(float)
    logp = fit_log_density(counts, precision)
    assert np.isclose(np.exp(logp).sum(), 1.0)
    p = np.exp(logp[0])
    assert p[8] > 10 * p[16] and p[24] > 10 * p[16]  # two modes, a valley between
    empirical = counts[0] / counts.sum()
    assert np.abs(p - empirical).sum() < 0.1
    # a large count does not make the Newton steps diverge
    spike = np.zeros((1, 32))
    spike[0, 5] = 1e6
    assert np.isfinite(fit_log_density(spike, precision)).all()


def test_unseen_categories_hash_into_buckets_that_learned_rare_mass() -> None:
    column = np.array(["a"] * 50 + ["b"] * 30 + [f"rare{i}" for i in range(20)], dtype=object)
    codec = CategoricalCodec.learn(column, max_vocab=10, min_count=2, n_buckets=4)
    assert set(codec.vocab) == {"a", "b"} and codec.size == 6
    codes = codec.encode(np.array(["a", "never-seen", 7, "b"], dtype=object))
    assert codes[0] == codec.vocab["a"] and codes[3] == codec.vocab["b"]
    assert 2 <= codes[1] < 6 and 2 <= codes[2] < 6
    assert codec.encode(np.array(["never-seen"], dtype=object))[0] == codes[1]  # stable hash
    again = CategoricalCodec.from_array(codec.to_array(), 4)
    assert again.vocab == codec.vocab
    counts = np.bincount(codec.encode(column), minlength=codec.size)[None].astype(float)
    logp = categorical_logp(counts, alpha=0.1)
    assert np.isfinite(logp).all() and np.exp(logp[0, 2:]).sum() > 0.1  # buckets hold the rare 20 %


def test_continuous_grid_penalises_values_beyond_the_range() -> None:
    grid = ContinuousGrid.learn(np.random.default_rng(0).lognormal(8, 1, 5000), n_bins=16)
    bins, offsets = grid.encode(np.array([3000.0, 1e12]))
    assert bins[1] == 15 and offsets[1] < offsets[0] - 3
    assert ContinuousGrid.from_array(grid.to_array()) == grid


def test_mixture_likelihood_and_posterior() -> None:
    cat = [np.log(np.array([[0.9, 0.1], [0.2, 0.8]]))]
    cont = [np.log(np.array([[0.5, 0.5], [0.1, 0.9]]))]
    codes, bins, offsets = np.array([[0], [1]]), np.array([[0], [1]]), np.zeros(2)
    loglik = component_loglik(codes, bins, offsets, cat, cont)
    np.testing.assert_allclose(loglik[0], np.log([0.9 * 0.5, 0.2 * 0.1]))
    resp, nll = e_step(loglik, np.log([0.5, 0.5]))
    np.testing.assert_allclose(resp.sum(1), 1.0)
    np.testing.assert_allclose(nll[0], -np.log(0.5 * 0.45 + 0.5 * 0.02))


def test_burst_llr_is_zero_at_or_below_expectation() -> None:
    assert burst_llr(np.array([3.0]), np.array([5.0]))[0] == 0.0
    assert burst_llr(np.array([0.0]), np.array([0.1]))[0] == 0.0
    np.testing.assert_allclose(burst_llr(np.array([20.0]), np.array([5.0]))[0], 20 * np.log(4) - 15)
