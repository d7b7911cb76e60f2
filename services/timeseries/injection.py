"""Anomalies injected into a real series' test part (written apart from ``data.generate_multivariate``).

Sizes are set from the series itself, never from a detector: ``spread`` is the standard deviation
of the training part minus its centred rolling median over ``SMOOTH`` points (the local variability
once trend and level are removed). Kinds, one of each per series, at random non-overlapping places:

* ``spike``: 1-3 points moved by 4-6 ``spread`` (random sign);
* ``level_shift``: a stretch moved by 2-3 ``spread`` (random sign);
* ``inversion``: a stretch mirrored around its own mean (the seasonal shape turned upside down);
* ``noise_burst``: Gaussian noise of 1.5-2.5 ``spread`` added to a stretch;
* ``stuck``: a stretch frozen at its first value (a stuck sensor).

Stretches last ``LENGTHS`` points. Labels are 1 on exactly the points an injection changed.
"""

from __future__ import annotations

import numpy as np

from services.timeseries.data import LabelledSeries

__all__ = ["KINDS", "inject_anomalies", "local_spread"]

KINDS = ("spike", "level_shift", "inversion", "noise_burst", "stuck")
LENGTHS = (16, 48)
SMOOTH = 25


def local_spread(values: np.ndarray) -> float:
    """Std of ``values`` ``(T,)`` around its centred rolling median over ``SMOOTH`` points."""
    half = SMOOTH // 2
    padded = np.pad(values, half, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(padded, SMOOTH), axis=1)
    return max(float(np.std(values - median)), 1e-6)


def _apply(kind: str, piece: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    sign = rng.choice([-1.0, 1.0])
    if kind == "spike":
        return piece + sign * rng.uniform(4, 6) * spread
    if kind == "level_shift":
        return piece + sign * rng.uniform(2, 3) * spread
    if kind == "inversion":
        return 2 * piece.mean() - piece
    if kind == "noise_burst":
        return piece + rng.normal(0.0, rng.uniform(1.5, 2.5) * spread, len(piece))
    return np.full_like(piece, piece[0])  # stuck


def inject_anomalies(
    series: np.ndarray, name: str, train_fraction: float = 0.45, seed: int = 0
) -> LabelledSeries:
    """Train on the first ``train_fraction`` of ``series`` ``(T, 1)``; inject one of each kind into the rest.

    The test part is split into ``len(KINDS)`` equal slots (the first ``LENGTHS[1]`` points left
    clean); each kind, in a random order, lands at a random place inside its own slot.
    """
    values = np.asarray(series, np.float64).reshape(len(series), -1)[:, 0]
    split = int(len(values) * train_fraction)
    rng = np.random.default_rng(seed)
    spread = local_spread(values[:split])
    test = values[split:].copy()
    labels = np.zeros(len(test), np.int8)
    slot = (len(test) - LENGTHS[1]) // len(KINDS)
    anomalies = []
    for i, kind in enumerate(rng.permutation(KINDS)):
        length = int(rng.integers(1, 4)) if kind == "spike" else int(rng.integers(LENGTHS[0], LENGTHS[1] + 1))
        start = LENGTHS[1] + i * slot + int(rng.integers(0, slot - length))
        end = start + length
        test[start:end] = _apply(str(kind), test[start:end], spread, rng)
        labels[start:end] = 1
        anomalies.append((str(kind), start, end))
    return LabelledSeries(
        values[:split, None].astype(np.float32),
        test[:, None].astype(np.float32),
        labels,
        f"{name}-seed{seed}",
        tuple(sorted(anomalies, key=lambda a: a[1])),
    )
