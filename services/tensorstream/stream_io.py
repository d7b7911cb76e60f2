"""What a stream step carries besides scores, as named numpy arrays inside the stream state.

Backends move ``(scores, state)`` only (``Backend.stream_step``), and the Ray backend pickles them, so
the windows a step closes travel back in the returned state under reserved keys, and a request to
close the stream travels in under another. The detector pops them before it runs, so they never
accumulate: the state stays flat.

* ``emit.windows``  float64 ``(m, 8)``: rows ``(index, n_events, score, component, intensity, burst,
  joint, expected)`` of the windows the step closed;
* ``control.flush`` int64 ``(1,)``: 1 closes (scores) the current window, for the end of a stream.
"""

from __future__ import annotations

import numpy as np

from services.tensorstream.detectors.heterocomp.scoring import WindowScores

__all__ = ["CONTROL_FLUSH", "EMIT_WINDOWS", "RESERVED", "split_outputs", "window_rows",
           "with_flush"]

EMIT_WINDOWS = "emit.windows"
CONTROL_FLUSH = "control.flush"
RESERVED = (EMIT_WINDOWS, CONTROL_FLUSH)


def window_rows(windows: WindowScores) -> np.ndarray:
    """``(m, 8)`` float64 rows of :class:`WindowScores` (the inverse of ``WindowScores.from_rows``)."""
    return np.column_stack([windows.index, windows.n_events, windows.score, windows.component,
                            windows.terms.reshape(-1, 3), windows.expected]).astype(np.float64).reshape(-1, 8)


def with_flush(state: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """``state`` asking the next step to close the current window (None stays None: nothing to close)."""
    if state is None:
        return None
    return {**state, CONTROL_FLUSH: np.ones(1, dtype=np.int64)}


def split_outputs(state: dict[str, np.ndarray], window_seconds: float) -> tuple[WindowScores, dict[str, np.ndarray]]:
    """(the windows the step closed, the state without the emitted arrays)."""
    kept = {key: value for key, value in state.items() if key not in RESERVED}
    rows = state.get(EMIT_WINDOWS, np.zeros((0, 8)))
    return WindowScores.from_rows([tuple(row) for row in rows], window_seconds), kept
