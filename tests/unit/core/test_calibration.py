"""Conformal p-values and BH/BY decisions against known values and statsmodels."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from services.core.calibration import ConformalCalibrator, Rule, decide, decide_recent


def test_p_values_match_the_conformal_formula() -> None:
    calibrator = ConformalCalibrator().fit(np.array([1.0, 2.0, 3.0, 4.0]))
    # (1 + #{c >= s}) / (n + 1)
    np.testing.assert_allclose(calibrator.p_values(np.array([0.0, 2.0, 2.5, 4.0, 9.0])), [1.0, 0.8, 0.6, 0.4, 0.2])


def test_p_values_are_super_uniform_on_exchangeable_normal_data() -> None:
    rng = np.random.default_rng(0)
    calibrator = ConformalCalibrator().fit(rng.normal(size=2000))
    p = calibrator.p_values(rng.normal(size=20000))
    for alpha in (0.01, 0.05, 0.1):
        assert np.mean(p <= alpha) <= alpha + 0.01


@pytest.mark.parametrize("rule,method", [(Rule.BH, "fdr_bh"), (Rule.BY, "fdr_by")])
@pytest.mark.parametrize("m", [1, 7, 100, 1000])
def test_fdr_decisions_equal_statsmodels(rule: Rule, method: str, m: int) -> None:
    rng = np.random.default_rng(m)
    p = np.concatenate([rng.uniform(size=m), rng.uniform(0, 0.001, size=max(1, m // 10))])
    for alpha in (0.01, 0.05, 0.2):
        expected = multipletests(p, alpha=alpha, method=method)[0]
        np.testing.assert_array_equal(decide(p, rule, alpha).anomalous, expected)


def test_alpha_rule_and_bad_alpha() -> None:
    decision = decide(np.array([0.001, 0.01, 0.5]), "alpha", 0.01)
    assert decision.anomalous.tolist() == [True, True, False]
    with pytest.raises(ValueError, match="alpha"):
        decide(np.array([0.1]), "bh", 1.5)


def test_decide_recent_returns_flags_for_new_points_only() -> None:
    window = np.array([0.5, 0.4, 0.0001, 0.3])
    decision = decide_recent(window, 2, Rule.BH, 0.05)
    assert decision.anomalous.tolist() == [True, False]


def test_state_round_trip() -> None:
    calibrator = ConformalCalibrator().fit(np.array([3.0, 1.0, 2.0]))
    again = ConformalCalibrator.from_state_dict(calibrator.state_dict())
    np.testing.assert_array_equal(again.p_values(np.array([1.5])), calibrator.p_values(np.array([1.5])))


def test_simes_combines_by_hand_and_matches_the_step_up_rules() -> None:
    from services.core.calibration import Rule, decide, simes

    p = np.array([0.5, 0.01, 0.04])
    assert simes(p) == pytest.approx(0.03) and simes(p, "bh") == simes(p)  # min(3·0.01/1, 3·0.04/2, 3·0.5/3)
    assert simes(p, Rule.BY) == pytest.approx(0.03 * (1 + 1 / 2 + 1 / 3))
    assert simes(np.array([])) == 1.0 and simes(np.array([1.0, 1.0])) == 1.0
    for alpha in (0.02, 0.03, 0.05, 0.06):
        for rule in (Rule.BH, Rule.BY):
            assert decide(p, rule, alpha).anomalous.any() == (simes(p, rule) <= alpha)
