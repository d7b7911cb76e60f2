"""Neighbour-aware Mondrian p-values: the grouping rule and the per-group calibration it feeds."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load, save
from scipy.stats import binom

from services.core.calibration import ConformalCalibrator
from services.graph.neighbour_groups import NEAR_FLAGGED, neighbour_groups


def test_the_group_is_having_a_neighbour_with_a_small_pooled_p_value() -> None:
    path = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])
    pooled = ConformalCalibrator().fit(np.linspace(0.0, 1.0, 99))
    scores = np.array([0.1, 0.2, 5.0, 0.3, 0.4])  # node 2 gets p = 0.01; the others p > 0.5
    assert neighbour_groups(path, scores, pooled, 0.05).tolist() == [0, NEAR_FLAGGED, 0, NEAR_FLAGGED, 0]
    unknown = np.array([np.nan, 0.2, np.nan, 0.3, 9.0])  # an unscored node flags nobody; node 4 flags node 3
    assert neighbour_groups(path, unknown, pooled, 0.05).tolist() == [0, 0, 0, NEAR_FLAGGED, 0]


def test_group_p_values_hold_alpha_when_the_group_mix_shifts_and_pooled_ones_do_not() -> None:
    """Calibration holds 10 % of the higher-scoring group, the test half of it: pooled p-values over-flag."""
    rng, alpha = np.random.default_rng(0), 0.05
    cal_groups, test_groups = np.repeat([0, 1], [1800, 200]), np.repeat([0, 1], [5000, 5000])
    cal, test = rng.normal(2.0 * cal_groups, 1.0), rng.normal(2.0 * test_groups, 1.0)
    calibrator = ConformalCalibrator().fit(cal).fit_groups(cal, cal_groups)
    pooled_rate = (calibrator.p_values(test) <= alpha).mean()
    grouped_rate = (calibrator.group_p_values(test, test_groups) <= alpha).mean()
    upper = binom.ppf(0.999, test.size, alpha * 1.1) / test.size  # slack for the 200 calibration scores of group 1
    assert pooled_rate > 0.2 and grouped_rate <= upper


def test_groups_survive_the_safetensors_round_trip_and_unknown_groups_fall_back_to_pooled() -> None:
    cal = np.arange(20, dtype=np.float64)
    calibrator = ConformalCalibrator().fit(cal).fit_groups(cal, (cal >= 10).astype(np.int64))
    restored = ConformalCalibrator.from_state_dict(load(save(calibrator.state_dict())))
    assert restored.grouped and sorted(restored.groups_) == [0, 1]
    scores, groups = np.array([9.5, 9.5, 9.5]), np.array([0, 1, 7])
    p_values = restored.group_p_values(scores, groups)
    assert p_values.tolist() == [1 / 11, 1.0, restored.p_values(scores[2:])[0]]
    assert not ConformalCalibrator.from_state_dict(load(save(ConformalCalibrator().fit(cal).state_dict()))).grouped
