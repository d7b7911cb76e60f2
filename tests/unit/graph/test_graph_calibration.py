"""Conformal calibration on a held-out snapshot: the false-positive rate at alpha on fresh normal nodes.

Stationary SBM snapshots (no feature drift, the same anomaly types throughout). The model is fitted on
two snapshots, calibrated on the labelled normal nodes of a third it never saw, and judged on the normal
nodes of six later snapshots. Split-conformal p-values give each fresh normal node
``P(p <= alpha) <= alpha``; given the calibration set the false-positive rate is ``Beta(l, n + 1 - l)``
with ``l = floor(alpha (n + 1))`` (Vovk 2012), so the count of false positives among ``m`` fresh nodes is
beta-binomial: the binomial over a fixed rate, widened by the calibration draw. The count must fall
inside its central 99.8 % range: above it the p-values are anti-conservative, below it they are
needlessly conservative (a calibrator answering p = 1 everywhere would fail there).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.contract.graph_case import SMALL_CONFIGS

ALPHA = 0.1


@pytest.fixture(scope="module")
def fitted() -> Iterator[SimpleNamespace]:
    from services.core.calibration import ConformalCalibrator
    from services.graph.data import sbm
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
    from services.graph.experiments import split

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    data = sbm(n_nodes=400, n_snapshots=11, n_train=11, drift=0.0, per_type=8, seed=5)
    parts = split(replace(data, train=[0, 1, 2, 3], test=list(range(4, 11))))
    detector = EgoDiffusionDetector(SMALL_CONFIGS["graph.ego_diffusion"]).fit(parts.fit)
    calibrator = ConformalCalibrator().fit(detector.score(parts.calibration))
    p_values = []
    for snapshot in parts.tests:
        normals = np.flatnonzero(snapshot.y == 0)
        p_values.append(calibrator.p_values(detector.score(replace(snapshot, y=None, targets=normals))))
    yield SimpleNamespace(calibrator=calibrator, p_values=np.concatenate(p_values), detector=detector, parts=parts)
    torch.set_num_threads(threads)


def beta_binomial_range(m: int, n: int, alpha: float, mass: float = 0.998) -> tuple[int, int]:
    """Central ``mass`` range of false positives among ``m`` fresh normals, ``n`` calibration scores."""
    from scipy.stats import betabinom

    rank = int(np.floor(alpha * (n + 1)))
    law = betabinom(m, rank, n + 1 - rank)
    return int(law.ppf((1 - mass) / 2)), int(law.ppf(1 - (1 - mass) / 2))


def test_false_positive_rate_on_fresh_normal_snapshots_is_within_the_bound(fitted: SimpleNamespace) -> None:
    m, n = fitted.p_values.size, fitted.calibrator.size
    assert n > 300 and m > 2000
    low, high = beta_binomial_range(m, n, ALPHA)
    false_positives = int((fitted.p_values <= ALPHA).sum())
    assert low <= false_positives <= high, (false_positives / m, low / m, high / m)


def test_the_bound_rejects_miscalibrated_p_values(fitted: SimpleNamespace) -> None:
    """The check can fail: p-values a third of these (anti-conservative) or three times them (conservative)
    fall outside it."""
    m, n = fitted.p_values.size, fitted.calibrator.size
    low, high = beta_binomial_range(m, n, ALPHA)
    assert int((fitted.p_values / 3 <= ALPHA).sum()) > high
    assert int((np.minimum(3 * fitted.p_values, 1) <= ALPHA).sum()) < low
