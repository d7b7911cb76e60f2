"""Neighbour-aware Mondrian groups of graph nodes for conformal p-values.

A normal node next to an anomaly has the anomaly in its ego-graph and scores higher than other normals;
a graph with more anomalies than the calibration snapshot therefore has more such nodes, and a pooled
p-value over-flags them. Grouping every node by "some neighbour (current edges) has a pooled p-value
≤ ``alpha``", by the same rule on the calibration snapshot and on scored graphs, and ranking a node only
among the calibration normals of its own group keeps the split-conformal argument inside each group
(Mondrian conformal prediction, Vovk, Gammerman & Shafer 2005, §4.5). The rule reads scores only, no labels.
"""

from __future__ import annotations

import numpy as np

from services.core.calibration import ConformalCalibrator

__all__ = ["NEAR_FLAGGED", "neighbour_groups"]

NEAR_FLAGGED = 1
"""Group of a node with a flagged neighbour (the other group is 0)."""


def neighbour_groups(edge_index: np.ndarray, scores: np.ndarray, pooled: ConformalCalibrator, alpha: float
                     ) -> np.ndarray:
    """Group ``(N,)`` int64 of every node: :data:`NEAR_FLAGGED` when a neighbour's pooled p-value is ≤ ``alpha``.

    ``edge_index`` ``(2, E)`` (either direction counts); ``scores`` ``(N,)`` float, NaN for nodes whose score
    is not known (they flag nobody; only the targets' neighbours need a score).
    """
    scores = np.asarray(scores, dtype=np.float64)
    known = np.isfinite(scores)
    flagged = np.zeros(scores.shape, dtype=bool)
    flagged[known] = pooled.p_values(scores[known]) <= alpha
    src, dst = np.asarray(edge_index)
    near = np.zeros(scores.shape, dtype=np.int64)
    near[src[flagged[dst]]] = NEAR_FLAGGED
    near[dst[flagged[src]]] = NEAR_FLAGGED
    return near
