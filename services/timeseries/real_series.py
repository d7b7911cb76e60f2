"""Real drifting series shipped inside installed packages (no downloads), for drift evaluation.

Each loader returns float32 ``(T, 1)`` with missing values linearly interpolated:

* ``co2``: Mauna Loa weekly CO2 (statsmodels ``datasets.co2``, 2,284 weeks): trend + yearly season.
* ``approval``: FiveThirtyEight presidential approval, daily (river ``trump_approval``, 1,001 days):
  a wandering level.
* ``water_flow``: hourly water flow of a pipe (river ``water-flow.csv``, 1,268 hours): daily cycle
  with deep drops and little drift (its level moves by less than its local variability): the
  control, not one of the ``DRIFTING`` series.
* ``aapl``: Apple's cumulative daily return in percent (river ``sp500``, 1,257 trading days):
  a random walk with a strong trend.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["DRIFTING", "REAL_SERIES", "load_real_series"]


def _river_file(name: str) -> Path:
    import river.datasets

    return Path(river.datasets.__file__).parent / name


def _co2() -> np.ndarray:
    from statsmodels.datasets import co2

    return co2.load_pandas().data["co2"].to_numpy(np.float64)


def _approval() -> np.ndarray:
    import pandas as pd

    return pd.read_csv(_river_file("trump_approval.csv.gz"))["five_thirty_eight"].to_numpy(np.float64)


def _water_flow() -> np.ndarray:
    import pandas as pd

    return pd.read_csv(_river_file("water-flow.csv")).iloc[:, 1].to_numpy(np.float64)


def _aapl() -> np.ndarray:
    import pandas as pd

    return np.cumsum(pd.read_csv(_river_file("sp500.csv.gz"))["AAPL"].to_numpy(np.float64))


REAL_SERIES: dict[str, Callable[[], np.ndarray]] = {
    "co2": _co2,
    "approval": _approval,
    "water_flow": _water_flow,
    "aapl": _aapl,
}

DRIFTING = ("co2", "approval", "aapl")


def load_real_series(name: str) -> np.ndarray:
    """The named series as float32 ``(T, 1)``, gaps (NaN) filled by linear interpolation."""
    if name not in REAL_SERIES:
        raise KeyError(f"unknown series {name!r}; known: {', '.join(REAL_SERIES)}")
    values = np.array(REAL_SERIES[name](), dtype=np.float64)  # a writable copy
    missing = np.isnan(values)
    if missing.any():
        index = np.arange(len(values))
        values[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return values.astype(np.float32)[:, None]
