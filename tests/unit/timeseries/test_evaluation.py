"""Time-series metrics on hand-computable cases."""

from __future__ import annotations

import time

import numpy as np
import pytest

from services.timeseries.evaluation import (
    auprc,
    auroc,
    point_f1,
    point_f1_at,
    range_f1,
    range_f1_at,
    range_precision_recall,
    vus_pr,
    vus_roc,
)

LABELS = np.zeros(1000, np.int64)
LABELS[100:150] = 1
LABELS[600:640] = 1
RATE = LABELS.mean()


def test_perfect_detector_scores_one_everywhere() -> None:
    scores = LABELS * 1.0
    for metric in (auroc, auprc, point_f1, range_f1, vus_pr, vus_roc):
        assert metric(LABELS, scores) == pytest.approx(1.0), metric.__name__


def test_inverted_detector() -> None:
    scores = -LABELS * 1.0
    assert auroc(LABELS, scores) == pytest.approx(0.0)
    p = LABELS.sum()
    # the best threshold flags everything: precision = rate, recall = 1
    assert point_f1(LABELS, scores) == pytest.approx(2 * p / (len(LABELS) + p))


def test_constant_detector() -> None:
    scores = np.zeros(len(LABELS))
    assert auroc(LABELS, scores) == pytest.approx(0.5)
    assert auprc(LABELS, scores) == pytest.approx(RATE)
    p = LABELS.sum()
    assert point_f1(LABELS, scores) == pytest.approx(2 * p / (len(LABELS) + p))


def test_point_f1_at_small_case() -> None:
    labels = np.array([0, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    pred = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1])
    # tp = 2, 4 predicted, 4 true -> F1 = 2 * 2 / 8
    assert point_f1_at(labels, pred) == pytest.approx(0.5)
    assert point_f1_at(labels, np.zeros(10)) == 0.0


def test_range_precision_recall_known_case() -> None:
    labels = np.array([0, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    pred = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1])
    # real range [1, 4]: 2 of 4 points covered -> recall 0.5
    # predicted ranges [3, 5] (2/3 real) and [9] (0/1) -> precision mean(2/3, 0) = 1/3
    precision, recall = range_precision_recall(labels, pred)
    assert precision == pytest.approx(1 / 3)
    assert recall == pytest.approx(0.5)
    assert range_f1_at(labels, pred) == pytest.approx(0.4)


def test_range_recall_averages_over_real_ranges() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 0])
    pred = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    precision, recall = range_precision_recall(labels, pred)
    assert recall == pytest.approx((2 / 4 + 0 / 2) / 2)
    assert precision == pytest.approx(1.0)
    assert range_precision_recall(labels, np.zeros(10)) == (0.0, 0.0)


def test_range_f1_best_threshold() -> None:
    labels = np.array([0, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    scores = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1], float)
    # threshold 1 -> F1 0.4; threshold 0 flags everything: precision 4/10, recall 1 -> 4/7
    assert range_f1(labels, scores) == pytest.approx(4 / 7)


def test_vus_hand_computed_without_buffer() -> None:
    labels = np.array([0, 1, 1, 0])
    scores = np.array([0.1, 0.9, 0.2, 0.3])
    # thresholds 0.9, 0.3, 0.2, 0.1 -> TPR 0.5, 0.5, 1, 1; precision 1, 1/2, 2/3, 1/2; FPR 0, .5, .5, 1
    assert vus_pr(labels, scores, sliding_window=0, n_thresholds=4) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert vus_roc(labels, scores, sliding_window=0, n_thresholds=4) == pytest.approx(0.75)


def test_vus_of_random_detector_is_near_the_anomaly_rate_and_fast() -> None:
    labels = np.zeros(10_000, np.int64)
    labels[2000:2300] = labels[6000:6200] = 1
    scores = np.random.default_rng(0).random(len(labels))
    started = time.perf_counter()
    value = vus_pr(labels, scores, sliding_window=10)
    assert time.perf_counter() - started < 3.0
    assert value == pytest.approx(labels.mean(), abs=0.01)
    assert vus_roc(labels, scores, sliding_window=10) == pytest.approx(0.5, abs=0.05)
    better = scores + labels * 0.5
    assert vus_pr(labels, better) > value + 0.2


def test_vus_buffer_rewards_near_misses() -> None:
    labels = np.zeros(2000, np.int64)
    labels[1000:1010] = 1
    near = np.zeros(2000)
    near[1012:1015] = 1.0  # just after the anomaly
    assert vus_pr(labels, near, sliding_window=20) > vus_pr(labels, near, sliding_window=0)


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="same non-zero length"):
        auroc(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="labels in"):
        vus_pr(np.array([0, 2]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="at least one anomalous"):
        vus_pr(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="finite"):
        range_f1(np.array([0, 1]), np.array([np.nan, 1.0]))
