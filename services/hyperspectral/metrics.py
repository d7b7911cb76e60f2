"""The field's 3-D ROC summary of an anomaly map: AUC(Pd, Pf), AUC(τ, Pd), AUC(τ, Pf).

τ is the detection threshold after min-max normalising the scores to [0, 1]; Pd(τ) / Pf(τ) are the
detection and false-alarm rates of ``score ≥ τ`` (Chang, "An effective evaluation tool for HAD", 2021).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RocSummary", "roc_summary"]


@dataclass(frozen=True)
class RocSummary:
    """AUC(Pd, Pf) (higher better), AUC(τ, Pd) (higher better), AUC(τ, Pf) (lower better)."""

    auc_pd_pf: float
    auc_tau_pd: float
    auc_tau_pf: float


def roc_summary(labels: np.ndarray, scores: np.ndarray) -> RocSummary:
    """3-D ROC AUCs of ``scores`` against binary ``labels`` (any shape, flattened together)."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(labels).reshape(-1).astype(bool)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.all() or not y.any():
        raise ValueError("labels need both anomalous and normal pixels")
    span = s.max() - s.min()
    s = (s - s.min()) / span if span > 0 else np.zeros_like(s)
    pf, pd, thresholds = roc_curve(y, s, drop_intermediate=False)
    tau = np.clip(thresholds, 0.0, 1.0)  # the first threshold is +inf: Pd = Pf = 0 at τ = 1
    order = np.argsort(tau)
    return RocSummary(float(auc(pf, pd)), float(np.trapezoid(pd[order], tau[order])),
                      float(np.trapezoid(pf[order], tau[order])))
