"""Neighbour-aware Mondrian p-values of the graph experiments (``neighbour_groups``, ``conformal_rates``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from services.graph.batch import GraphBatch
from services.graph.experiments import conformal_rates, neighbour_groups


def test_the_group_is_having_a_neighbour_with_a_small_plain_p_value() -> None:
    path = GraphBatch(x=np.zeros((5, 2), np.float32), edge_index=np.array([[0, 1, 2, 3], [1, 2, 3, 4]]))
    calibration = np.linspace(0.0, 1.0, 99)
    scores = np.array([0.1, 0.2, 5.0, 0.3, 0.4])  # node 2 gets p = 0.01; the others p > 0.5
    assert neighbour_groups(path, scores, calibration, 0.05).tolist() == [False, True, False, True, False]
    with pytest.raises(ValueError, match=r"every node's score \(5,\)"):
        neighbour_groups(path, scores[:3], calibration, 0.05)


def test_mondrian_p_values_hold_alpha_when_the_group_mix_shifts_and_plain_ones_do_not() -> None:
    """Calibration holds 10 % of the higher-scoring group, the test half: pooled p-values over-flag."""
    rng, alpha = np.random.default_rng(0), 0.05
    cal_groups = np.repeat([0, 1], [1800, 200])
    test_groups = np.repeat([0, 1], [5000, 5000])
    cal = rng.normal(2.0 * cal_groups, 1.0)
    test = rng.normal(2.0 * test_groups, 1.0)
    normal = np.zeros(test.size, dtype=np.int64)
    normal[:2] = 1  # conformal_rates also reports recall on anomalies: two stand-ins
    plain, _ = conformal_rates((cal, np.zeros(cal.size)), (test, np.zeros(test.size)), normal, alpha)
    mondrian, _ = conformal_rates((cal, cal_groups), (test, test_groups), normal, alpha)
    m = int((normal == 0).sum())
    upper = binom.ppf(0.999, m, alpha * 1.1) / m  # slack for the finite calibration groups (200 in group 1)
    assert plain > 0.2
    assert mondrian <= upper
