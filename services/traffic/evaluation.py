"""Detection figures on simulated runs with injected incidents: coverage, FDR, power, detection delay.

Decisions are made per snapshot across the whole network (``N`` cell p-values), as an operations centre would
flag a snapshot's segments. FDR is the mean over snapshots of false flags / max(flags, 1); power is the share of
labelled cells flagged; delay is, per incident, the first flag on its edge after it started (missed incidents
are counted separately). Coverage is measured on unlabelled cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.calibration import ConformalCalibrator, decide
from services.traffic.batch import SensorBatch
from services.traffic.sim.runner import SimRun, network_graph, simulate

__all__ = ["decision_figures", "detection_figures", "incident_run"]

WARMUP = 300.0


def incident_run(name: str, seed: int, seconds: float = 1800.0, n_incidents: int = 4, scale: float = 1.0) -> SimRun:
    """A run of ``name`` with ``n_incidents`` random incidents (after a 2-minute lead-in)."""
    from services.traffic.sim.incidents import random_incidents
    from services.traffic.sim.networks import network

    graph = network_graph(name)
    begin = network(name).begin + WARMUP
    incidents = random_incidents(graph, np.random.default_rng(seed), begin + 120.0, begin + seconds, n_incidents)
    return simulate(name, seconds=seconds, seed=seed, scale=scale, incidents=incidents)


def decision_figures(p_values: np.ndarray, run: SimRun, rule: str, alpha: float) -> dict[str, float]:
    """FDR, power, delay and misses of per-snapshot decisions over ``p_values`` ``(T, N)``."""
    labels = run.labels.astype(bool)
    flags = np.stack([decide(p, rule, alpha).anomalous for p in p_values])
    false = (flags & ~labels).sum(1)
    fdr = float(np.mean(false / np.maximum(flags.sum(1), 1)))
    power = float((flags & labels).sum() / max(labels.sum(), 1))
    delays, missed = [], 0
    index = {s: i for i, s in enumerate(run.graph.sensors)}
    for incident in run.incidents:
        if incident.applied_start is None:
            continue
        column = index[incident.edge]
        hits = np.flatnonzero(flags[:, column] & labels[:, column])
        if hits.size:
            delays.append(float(run.times[hits[0]] - incident.applied_start))
        else:
            missed += 1
    return {"fdr": fdr, "power": power, "delay_s": float(np.mean(delays)) if delays else float("nan"),
            "missed": float(missed), "incidents": float(len(delays) + missed),
            "flags_per_snapshot": float(flags.sum(1).mean())}


def detection_figures(detector: Any, calibration_scores: np.ndarray, run: SimRun, rule: str, alpha: float,
                      coverage: float, context: np.ndarray | None = None) -> dict[str, float]:
    """Interval coverage on unlabelled cells and the decision figures of ``detector`` on ``run``."""
    scores, evidence = detector.score_and_explain(SensorBatch(run.readings, run.times, context=context,
                                                              coverage=coverage))
    t, n = run.labels.shape
    p_values = ConformalCalibrator().fit(calibration_scores).p_values(scores).reshape(t, n)
    normal = ~run.labels.astype(bool)
    inside = (run.readings >= evidence.lower) & (run.readings <= evidence.upper)
    return {"coverage": float(inside[normal].mean()), **decision_figures(p_values, run, rule, alpha)}
