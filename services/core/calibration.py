"""Split-conformal calibration and per-request decision rules.

A :class:`ConformalCalibrator` is fitted on raw scores of held-out normal data. The conformal
p-value of a new score ``s`` against ``n`` calibration scores is ``(1 + #{c_i >= s}) / (n + 1)``,
valid (super-uniform) for exchangeable normal data. Decisions are chosen per request:
per-unit level ``alpha``, or Benjamini–Hochberg / Benjamini–Yekutieli FDR control over a batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = ["DEFAULT_ALPHA", "ConformalCalibrator", "Decision", "Rule", "decide", "decide_recent", "simes"]

DEFAULT_ALPHA = 0.01
_GROUP_PREFIX = "group_calibration_scores_"  # safetensors key of one group's calibration scores


class Rule(str, Enum):
    """Decision rules; the values are the short names used by the REST API and the CLI."""

    ALPHA = "alpha"
    BH = "bh"
    BY = "by"


@dataclass(frozen=True)
class Decision:
    """Flags ``(n,)`` bool and the p-value cut-off that produced them."""

    anomalous: np.ndarray
    threshold: float
    rule: Rule
    alpha: float


class ConformalCalibrator:
    """Held-out normal scores, sorted, turned into conformal p-values.

    A detector whose stream scores differ from its batch scores (e.g. last-window vs overlap-averaged)
    also gets a stream calibrator, fitted on stream-mode scores of the same held-out data. A detector
    that sorts its units into groups by an observable rule (Mondrian conformal prediction) also gets one
    calibrator per group: a unit is then ranked among the held-out scores of its own group only.
    """

    def __init__(self, scores: np.ndarray | None = None, stream_scores: np.ndarray | None = None,
                 group_scores: dict[int, np.ndarray] | None = None) -> None:
        self.scores_ = np.sort(np.asarray(scores, dtype=np.float64).ravel()) if scores is not None else None
        self.stream_: ConformalCalibrator | None = (
            ConformalCalibrator(stream_scores) if stream_scores is not None else None
        )
        self.groups_: dict[int, ConformalCalibrator] = {
            int(group): ConformalCalibrator(values) for group, values in (group_scores or {}).items()
        }

    def fit_groups(self, scores: np.ndarray, groups: np.ndarray) -> ConformalCalibrator:
        """Calibrate each group apart: held-out normal ``scores`` ``(n,)`` and their int ``groups`` ``(n,)``."""
        scores, groups = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(groups).ravel().astype(np.int64)
        if scores.shape != groups.shape:
            raise ValueError(f"one group per calibration score: {scores.shape} scores, {groups.shape} groups")
        self.groups_ = {int(g): ConformalCalibrator().fit(scores[groups == g]) for g in np.unique(groups)}
        return self

    @property
    def grouped(self) -> bool:
        """Whether p-values are computed per group (:meth:`group_p_values`)."""
        return bool(self.groups_)

    def group_p_values(self, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """p-values ``(n,)`` of ``scores`` ``(n,)``, each against the held-out scores of its group ``(n,)``;
        a group with no held-out score falls back to the pooled calibration."""
        scores, groups = np.asarray(scores, dtype=np.float64), np.asarray(groups).astype(np.int64)
        p_values = self.p_values(scores)
        for group, calibrator in self.groups_.items():
            members = groups == group
            p_values[members] = calibrator.p_values(scores[members])
        return p_values

    def fit_stream(self, stream_scores: np.ndarray) -> ConformalCalibrator:
        """Calibrate stream p-values on stream-mode scores ``(n,)`` of held-out normal data."""
        self.stream_ = ConformalCalibrator().fit(stream_scores)
        return self

    def stream_p_values(self, scores: np.ndarray) -> np.ndarray:
        """p-values of stream scores: against the stream calibration when there is one, else the batch one."""
        return (self.stream_ or self).p_values(scores)

    def fit(self, normal_scores: np.ndarray) -> ConformalCalibrator:
        """Store the sorted calibration scores ``(n,)``; NaNs are rejected."""
        scores = np.asarray(normal_scores, dtype=np.float64).ravel()
        if scores.size == 0 or not np.all(np.isfinite(scores)):
            raise ValueError("calibration needs at least one finite score")
        self.scores_ = np.sort(scores)
        return self

    @property
    def size(self) -> int:
        """Number of calibration scores (0 when not fitted)."""
        return 0 if self.scores_ is None else int(self.scores_.size)

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Conformal p-values ``(n,)`` float64 in ``(0, 1]``; higher scores get smaller p-values."""
        if self.scores_ is None:
            raise RuntimeError("calibrator is not fitted")
        scores = np.asarray(scores, dtype=np.float64)
        n = self.scores_.size
        at_least = n - np.searchsorted(self.scores_, scores, side="left")
        return (1.0 + at_least) / (n + 1.0)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays for safetensors."""
        if self.scores_ is None:
            raise RuntimeError("calibrator is not fitted")
        state = {"calibration_scores": self.scores_}
        if self.stream_ is not None:
            state["stream_calibration_scores"] = self.stream_.scores_
        for group, calibrator in self.groups_.items():
            state[f"{_GROUP_PREFIX}{group}"] = calibrator.scores_
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> ConformalCalibrator:
        """Inverse of :meth:`state_dict`."""
        groups = {int(key.removeprefix(_GROUP_PREFIX)): values for key, values in state.items()
                  if key.startswith(_GROUP_PREFIX)}
        return cls(state["calibration_scores"], state.get("stream_calibration_scores"), groups)


def _step_up_threshold(p_values: np.ndarray, alpha: float, harmonic: bool) -> float:
    """Largest p-value ``p_(k)`` with ``p_(k) <= k * alpha / (m * c(m))``; 0 when none qualifies."""
    m = p_values.size
    if m == 0:
        return 0.0
    ordered = np.sort(p_values)
    correction = float(np.sum(1.0 / np.arange(1, m + 1))) if harmonic else 1.0
    critical = np.arange(1, m + 1) * alpha / (m * correction)
    passing = np.nonzero(ordered <= critical)[0]
    return float(ordered[passing[-1]]) if passing.size else 0.0


def decide(p_values: np.ndarray, rule: Rule | str = Rule.ALPHA, alpha: float = DEFAULT_ALPHA) -> Decision:
    """Flag units from p-values ``(n,)`` under ``rule`` at level ``alpha`` in (0, 1)."""
    rule = Rule(rule)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    p_values = np.asarray(p_values, dtype=np.float64)
    if rule is Rule.ALPHA:
        threshold = alpha
    else:
        threshold = _step_up_threshold(p_values, alpha, harmonic=rule is Rule.BY)
    anomalous = p_values <= threshold if threshold > 0 else np.zeros(p_values.shape, dtype=bool)
    return Decision(anomalous=anomalous, threshold=threshold, rule=rule, alpha=alpha)


def decide_recent(window_p_values: np.ndarray, new: int, rule: Rule | str, alpha: float) -> Decision:
    """Decide over a stream's recent window ``(w,)``; the flags returned cover its ``new`` last entries."""
    full = decide(window_p_values, rule, alpha)
    return Decision(full.anomalous[-new:] if new else full.anomalous[:0], full.threshold, full.rule, full.alpha)


def simes(p_values: np.ndarray, rule: Rule | str = Rule.BH) -> float:
    """Simes' combined p-value of ``(m,)`` p-values, ``min_k m·p_(k)/k`` (1.0 when empty), valid under positive
    dependence; under ``by`` times ``sum_k 1/k``. It is at most ``alpha`` exactly when BH (BY) flags one of them:
    the group-level test (a window, a scene, a volume) that the per-item step-up rule implies."""
    ordered = np.sort(np.asarray(p_values, dtype=np.float64).ravel())
    m = ordered.size
    if m == 0:
        return 1.0
    combined = float(np.min(ordered * m / np.arange(1, m + 1)))
    if Rule(rule) is Rule.BY:
        combined *= float(np.sum(1.0 / np.arange(1, m + 1)))
    return min(combined, 1.0)
