"""Temporal dynamics of the components' intensities: a Gaussian-process prior in state-space form.

Each component's log-intensity (log of its expected events per window) is a GP over time with kernel
``k = Matérn-3/2 + Σ_j quasi-periodic(period / j) + random-walk trend``. In state-space form this is a
linear-Gaussian Markov chain with state dimension ``D = 2 + 2J + 1``: the Kalman filter predicts the
next window and updates on its counts in O(1) per window, however long the stream (Hartikainen &
Särkkä 2010; Solin & Särkkä 2014). Time is measured in windows.

Counts are observed through ``y = log(n + ½)`` with variance ``1 / (n + ½)`` (the delta method for a
Poisson count), inflated for outlying windows so that a burst does not become the new normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StateSpaceGP", "count_observation"]


@dataclass(frozen=True)
class StateSpaceGP:
    """Kernel hyper-parameters (time in windows)."""

    matern_lengthscale: float
    matern_variance: float
    period: float | None
    harmonics: int
    periodic_variance: float
    periodic_decay: float
    trend_drift: float
    trend_variance: float = 4.0

    @property
    def dim(self) -> int:
        """State dimension D."""
        return 3 + (2 * self.harmonics if self.period else 0)

    @property
    def observation(self) -> np.ndarray:
        """``H`` ``(D,)``: the log-intensity is the sum of the blocks' first coordinates."""
        h = np.zeros(self.dim)
        h[0] = 1.0
        h[2:-1:2] = 1.0
        h[-1] = 1.0
        return h

    def stationary(self) -> np.ndarray:
        """Prior covariance ``P∞`` ``(D, D)`` (the trend block gets ``trend_variance``)."""
        lam = np.sqrt(3.0) / self.matern_lengthscale
        diag = [self.matern_variance, lam**2 * self.matern_variance]
        if self.period:
            diag += [self.periodic_variance / self.harmonics] * (2 * self.harmonics)
        return np.diag([*diag, self.trend_variance])

    def transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """``A(dt)`` and ``Q(dt)`` ``(D, D)`` for a step of ``dt`` windows.

        A negative ``dt`` (a batch before the model's last window) turns the periodic part back and
        forgets the rest as for ``|dt|``.
        """
        sign, dt = (1.0 if dt >= 0 else -1.0), abs(dt)
        d = self.dim
        a, q = np.zeros((d, d)), np.zeros((d, d))
        lam = np.sqrt(3.0) / self.matern_lengthscale
        e = np.exp(-lam * dt)
        a[:2, :2] = e * np.array([[1 + lam * dt, dt], [-(lam**2) * dt, 1 - lam * dt]])
        p_inf = np.diag([self.matern_variance, lam**2 * self.matern_variance])
        q[:2, :2] = p_inf - a[:2, :2] @ p_inf @ a[:2, :2].T
        if self.period:
            damp = np.exp(-dt / self.periodic_decay)
            var = self.periodic_variance / self.harmonics
            for j in range(self.harmonics):
                w = sign * 2 * np.pi * (j + 1) / self.period * dt
                s = slice(2 + 2 * j, 4 + 2 * j)
                a[s, s] = damp * np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])
                q[s, s] = var * (1 - damp**2) * np.eye(2)
        a[-1, -1] = 1.0
        q[-1, -1] = self.trend_drift * dt
        return a, q

    def initial(self, n: int, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean ``(n, D)`` (trend at ``level`` ``(n,)``) and covariance ``(n, D, D)``."""
        mean = np.zeros((n, self.dim))
        mean[:, -1] = level
        return mean, np.broadcast_to(self.stationary(), (n, self.dim, self.dim)).copy()

    @staticmethod
    def predict(mean: np.ndarray, cov: np.ndarray, a: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One prediction step of ``n`` independent chains: ``(n, D)``, ``(n, D, D)``."""
        return mean @ a.T, a @ cov @ a.T + q

    def predictive(self, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance ``(n,)`` of the log-intensity."""
        h = self.observation
        return mean @ h, np.einsum("i,nij,j->n", h, cov, h)

    def update(self, mean: np.ndarray, cov: np.ndarray, y: np.ndarray, noise: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """Kalman update on scalar observations ``y`` ``(n,)`` with variances ``noise`` ``(n,)``."""
        h = self.observation
        ph = cov @ h  # (n, D)
        s = ph @ h + noise
        gain = ph / s[:, None]
        mean = mean + gain * (y - mean @ h)[:, None]
        cov = cov - gain[:, :, None] * ph[:, None, :]
        return mean, 0.5 * (cov + np.transpose(cov, (0, 2, 1)))

    def kernel(self, tau: np.ndarray) -> np.ndarray:
        """The stationary part of the covariance at lags ``tau`` (windows), for tests."""
        tau = np.abs(tau)
        lam = np.sqrt(3.0) / self.matern_lengthscale
        k = self.matern_variance * (1 + lam * tau) * np.exp(-lam * tau)
        if self.period:
            var = self.periodic_variance / self.harmonics
            for j in range(self.harmonics):
                k = k + var * np.exp(-tau / self.periodic_decay) * np.cos(2 * np.pi * (j + 1) / self.period * tau)
        return k


def count_observation(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y = log(n + ½)`` and its variance ``1 / (n + ½)`` for counts ``(K,)``."""
    c = np.asarray(counts, dtype=np.float64) + 0.5
    return np.log(c), 1.0 / c
