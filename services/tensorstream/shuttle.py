"""``river``'s Statlog Shuttle data (shipped inside the package) as a continuous-only event stream.

49,097 rows of nine sensor readings, 7 % anomalies (ODDS protocol). Events get one per second as time,
and no categorical attribute: a sanity check of the continuous GP densities alone.
"""

from __future__ import annotations

import gzip
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from services.tensorstream.batch import EventBatch

__all__ = ["shuttle_events"]


def shuttle_events() -> tuple[EventBatch, np.ndarray]:
    """Events ``(49097,)`` and labels int8 (1 anomaly)."""
    spec = find_spec("river")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("river is not installed: pip install 'polyad[tensorstream]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "shuttle.csv.gz"
    with gzip.open(path, "rt") as handle:
        header = handle.readline().strip().split(",")
        table = np.loadtxt(handle, delimiter=",", dtype=np.float64)
    values, labels = table[:, :-1].astype(np.float32), table[:, -1].astype(np.int8)
    n = values.shape[0]
    events = EventBatch(np.arange(n, dtype=np.float64), np.empty((n, 0), dtype=object), values, (),
                        tuple(header[:-1]))
    return events, labels
