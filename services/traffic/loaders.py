"""Users' own sensor data in the METR-LA / PEMS-BAY layout.

* readings: a CSV with a timestamp column (first column, or ``time_column``) and one column per sensor
  (speeds, mph or km/h), as ``metr-la.h5`` / ``pems-bay.h5`` exported to CSV; zeros mean "no reading" in those
  sets, so by default they become ``missing``.
* graph: an edge list CSV ``from,to[,cost]`` (``distances_la_2012.csv`` layout; costs become DCRNN's thresholded
  Gaussian kernel weights) or a ``.npy`` ``(N, N)`` matrix in the readings' sensor order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["SensorTable", "load_adjacency", "load_sensor_csv"]


class SensorTable:
    """Sensor ids ``(N,)``, times ``(T,)`` s, readings ``(T, N, 1)`` float32 and missing marks ``(T, N)``."""

    def __init__(self, sensors: list[str], times: np.ndarray, readings: np.ndarray, missing: np.ndarray) -> None:
        self.sensors, self.times, self.readings, self.missing = sensors, times, readings, missing


def load_sensor_csv(path: str | Path, time_column: str | None = None, zero_is_missing: bool = True) -> SensorTable:
    """Read a timestamp × sensor CSV; non-numeric or empty cells (and zeros, by default) are missing."""
    import pandas as pd

    frame = pd.read_csv(path)
    column = time_column or frame.columns[0]
    if column not in frame.columns:
        raise ValueError(f"{path}: no time column {column!r}")
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        times = raw.to_numpy(np.float64)
    else:
        times = (pd.to_datetime(raw, utc=True) - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    values = frame.drop(columns=[column]).apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    if values.shape[1] == 0:
        raise ValueError(f"{path}: no sensor columns")
    missing = ~np.isfinite(values) | ((values == 0) if zero_is_missing else False)
    order = np.argsort(times, kind="stable")
    readings = np.where(missing, 0.0, values)[order, :, None].astype(np.float32)
    sensors = [str(c) for c in frame.columns if c != column]
    return SensorTable(sensors, times[order], readings, missing[order])


def load_adjacency(path: str | Path, sensors: list[str], threshold: float = 0.1) -> np.ndarray:
    """``(N, N)`` bool adjacency in ``sensors`` order from a ``.npy`` matrix or an edge-list CSV."""
    path = Path(path)
    n = len(sensors)
    if path.suffix == ".npy":
        matrix = np.load(path, allow_pickle=False)
        if matrix.shape != (n, n):
            raise ValueError(f"{path}: expected a [{n}, {n}] matrix, got {list(matrix.shape)}")
        return matrix.astype(np.float64) > 0
    import pandas as pd

    edges = pd.read_csv(path)
    if edges.shape[1] < 2:
        raise ValueError(f"{path}: expected columns from,to[,cost]")
    index = {s: i for i, s in enumerate(sensors)}
    src, dst = edges.iloc[:, 0].astype(str), edges.iloc[:, 1].astype(str)
    keep = src.isin(index.keys()) & dst.isin(index.keys())
    adjacency = np.zeros((n, n), dtype=bool)
    if edges.shape[1] >= 3:
        cost = edges.iloc[:, 2].to_numpy(np.float64)
        sigma = np.std(cost[np.isfinite(cost)]) or 1.0
        keep &= np.exp(-((cost / sigma) ** 2)) >= threshold
    adjacency[[index[s] for s in src[keep]], [index[d] for d in dst[keep]]] = True
    np.fill_diagonal(adjacency, False)
    return adjacency
