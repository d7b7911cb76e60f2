"""Group anomaly statistics of a window, in nats (generalised log-likelihood ratios).

* intensity: ``½ Σ_k max(z_k, 0)²`` with ``z_k`` the standardised excess of component k's count over
  the GP's prediction (DoS bursts, floods of one kind of event);
* burst: ``Σ_a max_v LLR(c_av − 1, μ_av)``, the Poisson excess of the most repeated value of each
  categorical attribute over its expectation ``μ_av = Σ_k λ_k φ_k,a[v]`` (scans, one key everywhere);
* joint: ``½ max(z, 0)²`` of the window's mean event NLL against its training distribution (odd
  co-occurrences: every event a little unlikely).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Calibration", "WindowScores", "burst_llr", "intensity_z", "joint_term"]


def burst_llr(count: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``c log(c/μ) − (c − μ)`` where ``c > μ``, else 0 (elementwise)."""
    c = np.asarray(count, dtype=np.float64)
    mu = np.maximum(np.asarray(expected, dtype=np.float64), 1e-12)
    safe = np.maximum(c, 1e-12)
    return np.where(c > mu, c * np.log(safe / mu) - (c - mu), 0.0)


def intensity_z(counts: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Standardised deviation ``(K,)`` of ``log(n + ½)`` from the predicted log-intensity."""
    c = np.asarray(counts, dtype=np.float64) + 0.5
    return (np.log(c) - mean) / np.sqrt(var + 1.0 / c)


@dataclass(frozen=True)
class Calibration:
    """Training statistics: event NLL mean / variance, between-window variance, per-term median / scale."""

    nll_mean: float = 0.0
    nll_var: float = 1.0
    nll_between: float = 0.0
    term_median: tuple[float, float, float] = (0.0, 0.0, 0.0)
    term_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def to_array(self) -> np.ndarray:
        """``(9,)`` float64."""
        return np.array([self.nll_mean, self.nll_var, self.nll_between, *self.term_median, *self.term_scale])

    @classmethod
    def from_array(cls, a: np.ndarray) -> Calibration:
        """Inverse of :meth:`to_array`."""
        v = [float(x) for x in a]
        return cls(v[0], v[1], v[2], (v[3], v[4], v[5]), (v[6], v[7], v[8]))

    def standardise(self, terms: np.ndarray) -> np.ndarray:
        """Positive part of ``(terms − median) / scale``, ``(..., 3)``."""
        return np.maximum((terms - np.asarray(self.term_median)) / np.asarray(self.term_scale), 0.0)


def joint_term(mean_nll: np.ndarray, n: np.ndarray, calib: Calibration) -> np.ndarray:
    """``½ max(z, 0)²`` of window mean NLLs ``(m,)`` over ``n`` ``(m,)`` events."""
    sd = np.sqrt(calib.nll_var / np.maximum(n, 1) + calib.nll_between)
    z = (np.asarray(mean_nll) - calib.nll_mean) / np.maximum(sd, 1e-9)
    return 0.5 * np.maximum(z, 0.0) ** 2


@dataclass(frozen=True)
class WindowScores:
    """Closed windows: index (m,) int64 (``floor(t / window_seconds)``), start (m,) float64 seconds,
    n_events (m,) int64, score (m,) float32 group score (higher = more anomalous), component (m,) int64
    (the component that explains it), terms (m, 3) float32 raw [intensity, burst, joint] nats,
    expected (m,) float32 predicted event count."""

    index: np.ndarray
    start: np.ndarray
    n_events: np.ndarray
    score: np.ndarray
    component: np.ndarray
    terms: np.ndarray
    expected: np.ndarray

    def __len__(self) -> int:
        return int(self.index.size)

    @classmethod
    def from_rows(cls, rows: list[tuple], window_seconds: float) -> WindowScores:
        """From ``(index, n, score, component, t0, t1, t2, expected)`` rows."""
        a = np.array(rows, dtype=np.float64).reshape(-1, 8)
        index = a[:, 0].astype(np.int64)
        return cls(index, index * window_seconds, a[:, 1].astype(np.int64), a[:, 2].astype(np.float32),
                   a[:, 3].astype(np.int64), a[:, 4:7].astype(np.float32), a[:, 7].astype(np.float32))
