"""Window p-values: Simes' combination of the window's conformal event p-values.

A window is a group of events; under the null (every event of the window normal) each event p-value
is a valid conformal p-value, and Simes' test ``p_w = min_i n p_(i) / i`` is valid for the window under
independence or positive dependence (events of one window share its group evidence, which raises
their scores together). Conformal p-values take values ``k / (m + 1)`` (``m`` calibration scores), so a
stream keeps one fixed-size histogram per open window: memory stays flat whatever the window holds.
"""

from __future__ import annotations

import numpy as np

from services.core.calibration import simes

__all__ = ["WindowPValues", "event_windows", "window_p_values"]


def event_windows(times: np.ndarray, window_seconds: float, current: int | None = None) -> np.ndarray:
    """Each event's window ``(n,)`` int64 as the detector assigns it: ``floor(t / w)``, never before an earlier
    event's window (nor before ``current``, the open window of a stream)."""
    windows = np.floor(np.asarray(times, dtype=np.float64) / window_seconds).astype(np.int64)
    if current is not None and windows.size:
        windows = np.maximum(windows, current)
    return np.maximum.accumulate(windows) if windows.size else windows


def window_p_values(p_values: np.ndarray, windows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Simes p-values ``(m,)`` of the windows ``index`` ``(m,)`` from event p-values and windows ``(n,)``."""
    return np.array([simes(p_values[windows == w]) for w in index], dtype=np.float64)


class WindowPValues:
    """One stream's running window p-values over conformal event p-values of ``calibration_size`` levels."""

    def __init__(self, calibration_size: int) -> None:
        self.levels = np.arange(1, calibration_size + 2, dtype=np.float64) / (calibration_size + 1.0)
        self.counts = np.zeros(calibration_size + 1, dtype=np.int64)
        self.window: int | None = None
        self.closed: dict[int, float] = {}

    def _close(self) -> None:
        if self.window is not None and self.counts.any():
            cumulative = np.cumsum(self.counts)
            seen = self.counts > 0
            n = cumulative[-1]
            self.closed[self.window] = float(min(1.0, (n * self.levels[seen] / cumulative[seen]).min()))
            self.counts[:] = 0

    def add(self, times: np.ndarray, p_values: np.ndarray, window_seconds: float) -> None:
        """Count new events (times ``(k,)``, p-values ``(k,)``); a later window closes the open one."""
        windows = event_windows(times, window_seconds, self.window)
        codes = np.clip(np.rint(p_values * (self.counts.size)).astype(np.int64) - 1, 0, self.counts.size - 1)
        for w in np.unique(windows):
            if self.window is not None and w != self.window:
                self._close()
            self.window = int(w)
            np.add.at(self.counts, codes[windows == w], 1)

    def flush(self) -> None:
        """Close the open window (end of stream)."""
        self._close()

    def take(self, index: np.ndarray) -> np.ndarray:
        """P-values ``(m,)`` of closed windows ``index``, forgotten once taken (1.0 for an unknown window)."""
        taken = np.array([self.closed.pop(int(w), 1.0) for w in index], dtype=np.float64)
        if len(index):  # windows close in order: anything older than the newest taken is stale
            newest = int(np.max(index))
            self.closed = {w: p for w, p in self.closed.items() if w > newest}
        return taken
