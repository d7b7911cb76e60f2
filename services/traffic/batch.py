"""The traffic batch: sensor snapshots over a road graph, and the checks every input goes through."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["SensorBatch", "head", "validate_batch"]


@dataclass(frozen=True)
class SensorBatch:
    """Snapshots of ``N`` sensors with ``F`` readings each.

    Scoring units are the ``T * N`` (time step, sensor) cells, time-major (cell ``t * N + i``).
    ``missing`` marks sensors that reported nothing: their readings are ignored (imputed by the forecast) and
    their cells are never flagged. ``context`` holds snapshots just before the batch (the forecaster's history);
    without it, the batch's own first snapshots serve as history. ``breaks`` lists snapshot indices where a new,
    unrelated recording starts (training data joined from several runs). ``adjacency`` is needed to fit.
    """

    readings: np.ndarray  # (T, N, F) float32
    times: np.ndarray  # (T,) float64 seconds, strictly increasing
    missing: np.ndarray | None = None  # (T, N) bool
    context: np.ndarray | None = None  # (C, N, F) float32
    adjacency: np.ndarray | None = None  # (N, N) bool, [i, j]: traffic flows from i to j
    breaks: tuple[int, ...] = ()
    coverage: float = 0.9  # nominal coverage of the prediction intervals in explanations

    def __len__(self) -> int:
        return int(self.readings.shape[0] * self.readings.shape[1])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, N, F)."""
        return tuple(self.readings.shape)  # type: ignore[return-value]


def head(batch: SensorBatch, k: int) -> SensorBatch:
    """The batch's first ``k`` cells (``k`` a multiple of the sensor count): its first ``k / N`` snapshots."""
    n = batch.readings.shape[1]
    if k % n:
        raise ValueError(f"head needs a multiple of the {n} sensors, got {k}")
    steps = k // n
    missing = None if batch.missing is None else batch.missing[:steps]
    return replace(batch, readings=batch.readings[:steps], times=batch.times[:steps], missing=missing,
                   breaks=tuple(b for b in batch.breaks if b < steps))


def validate_batch(batch: SensorBatch, n_sensors: int | None, n_features: int | None, max_cells: int = 10_000_000,
                   last_time: float = -np.inf) -> SensorBatch:
    """Check shapes, finiteness, monotone time; return the batch with float32 readings and bool missing."""
    readings = np.asarray(batch.readings, dtype=np.float32)
    if readings.ndim != 3 or readings.shape[0] == 0:
        raise InvalidInputError(f"readings: expected shape [T, N, F] with T > 0, got {list(readings.shape)}",
                                "readings")
    t, n, f = readings.shape
    if n_sensors is not None and n != n_sensors:
        raise InvalidInputError(f"readings has {n} sensors; the model's graph has {n_sensors}", "readings")
    if n_features is not None and f != n_features:
        raise InvalidInputError(f"readings has {f} features per sensor; the model expects {n_features}", "readings")
    if t * n > max_cells:
        raise LimitExceededError(f"readings has {t * n} cells; the limit is {max_cells}", "readings")
    missing = None
    if batch.missing is not None:
        missing = np.asarray(batch.missing, dtype=bool)
        if missing.shape != (t, n):
            raise InvalidInputError(f"missing: expected shape [{t}, {n}], got {list(missing.shape)}", "missing")
    bad = ~np.isfinite(readings)
    if missing is not None:
        bad &= ~missing[:, :, None]
    if bad.any():
        where = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"readings[{where[0]}, {where[1]}, {where[2]}] is not finite; mark a sensor without a reading in "
            "`missing` instead of sending NaN", "readings")
    if missing is not None:
        readings = np.where(missing[:, :, None], 0.0, readings).astype(np.float32)
    times = np.asarray(batch.times, dtype=np.float64)
    if times.shape != (t,):
        raise InvalidInputError(f"times: expected shape [{t}], got {list(times.shape)}", "times")
    if not np.all(np.isfinite(times)):
        raise InvalidInputError("times must be finite", "times")
    if t > 1 and np.any(np.diff(times) <= 0):
        k = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise InvalidInputError(f"times[{k}] = {times[k]} does not come after times[{k - 1}] = {times[k - 1]}; "
                                "time may not go backwards", "times")
    if times[0] <= last_time:
        raise InvalidInputError(f"times[0] = {times[0]} goes back to or before the stream's last snapshot "
                                f"({last_time})", "times")
    context = batch.context
    if context is not None:
        context = np.asarray(context, dtype=np.float32)
        if context.ndim != 3 or context.shape[1:] != (n, f):
            raise InvalidInputError(f"context: expected shape [C, {n}, {f}], got {list(context.shape)}", "context")
        if not np.all(np.isfinite(context)):
            raise InvalidInputError("context has non-finite readings", "context")
    if not 0.0 < batch.coverage < 1.0:
        raise InvalidInputError(f"coverage must be in (0, 1), got {batch.coverage}", "coverage")
    return replace(batch, readings=readings, times=times, missing=missing, context=context)
