"""Train on earlier snapshots, calibrate on a held-out later one, score the test snapshots after it.

Protocol (``split``): snapshot ``t`` carries the edges of ``t - 1`` as its history (so the first snapshot
serves as history only); the labelled training snapshots but the last are fitted; the last training
snapshot is held out whole and its labelled normal nodes calibrate the p-values; the test snapshots
come later. Metrics: AUROC / AUPRC overall and on the unseen anomaly type alone, and the empirical
false-positive rate and recall of the conformal decision at ``alpha`` on the test snapshots, with the plain
split-conformal p-value and with a neighbour-aware Mondrian one (``services.graph.neighbour_groups``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from services.graph.batch import GraphBatch, select_snapshots, union, with_history
from services.graph.data import DynamicGraph
from services.graph.neighbour_groups import neighbour_groups

__all__ = ["FPR_ALPHA", "TEMPORAL", "VARIANTS", "Split", "calibration_split", "conformal_rates", "detection_metrics",
           "evaluate_scores", "run_scorer", "run_unsupervised", "run_variant", "split",
           "training_data"]

FPR_ALPHA = 0.05
"""Level at which the bench reports the empirical false-positive rate of the conformal decision."""

TEMPORAL: dict[str, Any] = {"temporal": True, "time_window": 0.95}
"""Overrides that switch on the temporal channels (one snapshot's edges per window, see ``data``)."""

VARIANTS: dict[str, dict[str, Any]] = {
    "full framework": {},
    "full + temporal": TEMPORAL,
    "temporal, no diffusion": {**TEMPORAL, "use_diffusion": False},
    "no diffusion": {"use_diffusion": False},
    "uniform (no curriculum)": {"curriculum": "uniform"},
}
"""Ablations of the ego-diffusion detector: configuration overrides per row."""


@dataclass(frozen=True)
class Split:
    """fit: labelled union of training snapshots; calibration / validation: the held-out snapshot (normal
    targets without labels / every node with labels); tests: later snapshots, labelled."""

    fit: GraphBatch
    calibration: GraphBatch
    validation: GraphBatch
    tests: list[GraphBatch]


def calibration_split(batch: GraphBatch, fraction: float, seed: int) -> tuple[GraphBatch, GraphBatch]:
    """(fit batch, calibration batch). A union of several snapshots: the last snapshot is held out whole
    and its labelled normal nodes calibrate (``fraction`` unused). One graph: a ``fraction`` of the labelled
    normal targets is held out of the labels and the standardisation statistics (they still sit inside
    their neighbours' ego-graphs, so the p-values are only approximately valid there; see the README)."""
    snapshots = np.unique(batch.snapshot) if batch.snapshot is not None else np.zeros(1)
    if snapshots.size >= 2:
        held = select_snapshots(batch, [int(snapshots[-1])])
        normals = held.target_nodes[held.y[held.target_nodes] == 0] if held.y is not None else held.target_nodes
        return select_snapshots(batch, snapshots[:-1].tolist()), replace(held, targets=normals, y=None)
    rng = np.random.default_rng(seed)
    targets = batch.target_nodes
    normals = targets[batch.y[targets] == 0] if batch.y is not None else targets
    held_nodes = np.sort(rng.choice(normals, size=max(1, round(fraction * len(normals))), replace=False))
    keep = targets[~np.isin(targets, held_nodes)]
    return replace(batch, targets=keep), replace(batch, targets=held_nodes, y=None)


def _with_histories(data: DynamicGraph) -> list[GraphBatch]:
    """Snapshots ``1..T-1``, each carrying the previous snapshot's edges as history (index ``t - 1``)."""
    return [with_history(data.snapshots[t], data.snapshots[t - 1]) for t in range(1, len(data.snapshots))]


def split(data: DynamicGraph) -> Split:
    """The protocol above on a dynamic graph."""
    timed = _with_histories(data)
    train = [timed[t - 1] for t in data.train if t >= 1]
    if len(train) < 2:
        raise ValueError(f"{data.name}: need at least 3 training snapshots (history, fit, calibration)")
    fit, calibration = calibration_split(union(train), 0.0, 0)
    return Split(fit, calibration, train[-1], [timed[t - 1] for t in data.test])


def training_data(data: DynamicGraph, fraction: float = 0.2, seed: int = 0) -> tuple[GraphBatch, GraphBatch]:
    """(fit, calibration) of :func:`split` (``fraction`` and ``seed`` are kept for callers; unused)."""
    parts = split(data)
    return parts.fit, parts.calibration


def detection_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(AUROC, AUPRC) of binary ``labels`` ``(n,)`` against ``scores`` ``(n,)``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def evaluate_scores(types: np.ndarray, scores: np.ndarray, unseen: tuple[int, ...]) -> dict[str, float]:
    """Metrics overall and on normals + unseen-type anomalies only (other anomalies left out)."""
    auroc, auprc = detection_metrics(types > 0, scores)
    keep = (types == 0) | np.isin(types, unseen)
    u_auroc, u_auprc = detection_metrics(np.isin(types[keep], unseen), scores[keep])
    return {"auroc": auroc, "auprc": auprc, "unseen_auroc": u_auroc, "unseen_auprc": u_auprc,
            "anomaly_rate": float((types > 0).mean())}


def _test_arrays(tests: list[GraphBatch], score: Callable[[GraphBatch], np.ndarray]
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Types of every test node, concatenated ``(M,)``, and each snapshot's scores (label-free scoring)."""
    types = np.concatenate([snapshot.y.astype(np.int64) for snapshot in tests])
    return types, [score(replace(snapshot, y=None)) for snapshot in tests]


def conformal_rates(p_values: np.ndarray, types: np.ndarray, alpha: float) -> tuple[float, float]:
    """(false-positive rate, recall) of ``p_values`` ``(m,)`` ≤ ``alpha`` on normal / anomalous ``types`` ``(m,)``."""
    flagged = p_values <= alpha
    return float(flagged[types == 0].mean()), float(flagged[types > 0].mean())


def run_scorer(data: DynamicGraph, parts: Split, score: Callable[[GraphBatch], np.ndarray], fit_s: float
               ) -> dict[str, float]:
    """Metrics of a fitted ``score`` on the test snapshots; the conformal FPR and recall at ``FPR_ALPHA``
    calibrated on the held-out snapshot's normal nodes, plain and neighbour-aware (Mondrian); AUROC / AUPRC
    on the held-out snapshot (validation, for model choices)."""
    from services.core.calibration import ConformalCalibrator

    held = parts.validation.y.astype(np.int64)
    held_scores = score(replace(parts.validation, y=None))  # every node; its normal nodes are the calibration set
    calibration = held_scores[held == 0]
    calibrator = ConformalCalibrator().fit(calibration)  # pooled p-values; the groups are fitted beside them
    held_groups = neighbour_groups(parts.validation.edge_index, held_scores, calibrator, FPR_ALPHA)[held == 0]
    calibrator.fit_groups(calibration, held_groups)
    types, snapshot_scores = _test_arrays(parts.tests, score)
    scores = np.concatenate(snapshot_scores)
    groups = np.concatenate([neighbour_groups(snapshot.edge_index, s, calibrator, FPR_ALPHA)
                             for snapshot, s in zip(parts.tests, snapshot_scores, strict=True)])
    plain = conformal_rates(calibrator.p_values(scores), types, FPR_ALPHA)
    mondrian = conformal_rates(calibrator.group_p_values(scores, groups), types, FPR_ALPHA)
    val_auroc, val_auprc = detection_metrics(held > 0, held_scores)
    return {**evaluate_scores(types, scores, data.unseen_types), "fpr": plain[0], "recall": plain[1],
            "fpr_mondrian": mondrian[0], "recall_mondrian": mondrian[1], "val_auroc": val_auroc,
            "val_auprc": val_auprc, "fit_s": fit_s}


def run_variant(data: DynamicGraph, overrides: dict[str, Any], seed: int = 0) -> dict[str, float]:
    """Fit the ego-diffusion detector with ``overrides`` on the fit snapshots; metrics on the test snapshots."""
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    parts = split(data)
    detector = EgoDiffusionDetector({"seed": seed, **overrides})
    started = time.perf_counter()
    detector.fit(parts.fit)
    return run_scorer(data, parts, detector.score, time.perf_counter() - started)


def run_unsupervised(data: DynamicGraph, score: Callable[[GraphBatch], np.ndarray]) -> dict[str, float]:
    """Metrics of a detector that is fitted on each test snapshot itself (``score`` does both; no FPR)."""
    started = time.perf_counter()
    types, scores = _test_arrays(split(data).tests, score)
    return {**evaluate_scores(types, np.concatenate(scores), data.unseen_types), "fit_s": time.perf_counter() - started}
