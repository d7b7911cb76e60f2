"""Curriculum anomaly augmentation: per-pattern difficulty tracked each epoch decides the synthetic budget.

Known anomalies are grouped into patterns (their labelled types, or k-means clusters of their
ego-graph descriptors). After every epoch the detector's scores give each pattern a difficulty, the
share of normal training nodes scored at least as high as its anomalies (1 − per-pattern AUROC).
The next epoch's synthetic anomalies are split across patterns by a softmax over difficulty,
smoothed over epochs and floored, so the patterns scored worst get the most new samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CurriculumScheduler", "assign_patterns", "pattern_difficulty"]


def assign_patterns(types: np.ndarray, descriptors: np.ndarray, n_patterns: int, seed: int) -> np.ndarray:
    """Pattern index ``(A,)`` of each known anomaly: its type when ≥ 2 types are labelled, else k-means."""
    kinds = np.unique(types)
    if kinds.size >= 2:
        return np.searchsorted(kinds, types).astype(np.int64)
    k = int(min(n_patterns, max(1, len(types) // 4)))
    if k == 1:
        return np.zeros(len(types), dtype=np.int64)
    from sklearn.cluster import KMeans

    scaled = (descriptors - descriptors.mean(0)) / (descriptors.std(0) + 1e-6)
    return KMeans(k, n_init=4, random_state=seed).fit_predict(scaled).astype(np.int64)


def pattern_difficulty(anomaly_scores: np.ndarray, patterns: np.ndarray, normal_scores: np.ndarray,
                       n_patterns: int) -> np.ndarray:
    """``(P,)``: per pattern, the mean share of normal scores ≥ each anomaly's score (0 = perfectly ranked)."""
    ordered = np.sort(normal_scores)
    above = 1.0 - np.searchsorted(ordered, anomaly_scores, side="left") / max(len(ordered), 1)
    out = np.zeros(n_patterns)
    for p in range(n_patterns):
        chosen = above[patterns == p]
        out[p] = chosen.mean() if chosen.size else 0.0
    return out


class CurriculumScheduler:
    """Synthetic-sample shares over ``n_patterns``; ``adaptive=False`` keeps them uniform (the ablation)."""

    def __init__(self, n_patterns: int, adaptive: bool, temperature: float, momentum: float, floor: float) -> None:
        self.n_patterns, self.adaptive = n_patterns, adaptive
        self.temperature, self.momentum, self.floor = temperature, momentum, min(floor, 1.0 / n_patterns)
        self.weights = np.full(n_patterns, 1.0 / n_patterns)
        self.history: list[np.ndarray] = [self.weights.copy()]

    def update(self, difficulty: np.ndarray) -> np.ndarray:
        """Move the shares toward the hardest patterns; returns the new shares ``(P,)`` (sum 1)."""
        if self.adaptive:
            logits = difficulty / self.temperature
            target = np.exp(logits - logits.max())
            target /= target.sum()
            target = self.floor + (1.0 - self.floor * self.n_patterns) * target
            self.weights = self.momentum * self.weights + (1.0 - self.momentum) * target
            self.weights /= self.weights.sum()
        self.history.append(self.weights.copy())
        return self.weights

    def allocate(self, budget: int) -> np.ndarray:
        """Integer samples per pattern ``(P,)`` summing to ``budget`` (largest remainders)."""
        raw = self.weights * budget
        counts = np.floor(raw).astype(np.int64)
        for index in np.argsort(-(raw - counts), kind="stable")[: budget - counts.sum()]:
            counts[index] += 1
        return counts
