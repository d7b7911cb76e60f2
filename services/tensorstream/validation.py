"""Checks of an :class:`EventBatch` against a schema; errors name the event index and the field."""

from __future__ import annotations

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.tensorstream.batch import EventBatch, EventSchema

__all__ = ["validate_events"]

_CATEGORY_TYPES = (str, int, np.integer, np.str_)


def _reorder(values: np.ndarray, names: tuple[str, ...], wanted: tuple[str, ...], kind: str) -> np.ndarray:
    """Columns of ``values`` in the order of ``wanted``; a missing attribute raises."""
    if names == wanted:
        return values
    position = {name: j for j, name in enumerate(names)}
    for name in wanted:
        if name not in position:
            raise InvalidInputError(f"events lack the {kind} attribute {name!r}; expected {list(wanted)}", name)
    return values[:, [position[name] for name in wanted]]


def validate_events(batch: EventBatch, schema: EventSchema, tolerance: float, last_time: float = -np.inf,
                    max_events: int = 10_000_000) -> EventBatch:
    """A batch with columns in schema order, float64 times and float32 values, or ``InvalidInputError``.

    A categorical value must be a str or an int; a continuous value a finite number; an event's time
    may fall at most ``tolerance`` seconds behind the latest earlier time (or ``last_time``).
    """
    if not isinstance(batch, EventBatch):
        raise InvalidInputError(f"expected an EventBatch, got {type(batch).__name__}", "events")
    n = len(batch)
    if n > max_events:
        raise LimitExceededError(f"{n} events exceed the limit of {max_events} per request", "events")
    times = np.asarray(batch.times)
    if times.ndim != 1:
        raise InvalidInputError(f"times has shape {list(times.shape)}; expected (n,)", "time")
    try:
        times = times.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError("times must be numbers (seconds)", "time") from error
    cat = np.asarray(batch.categorical, dtype=object).reshape(n, -1) if n else np.empty((0, len(schema.categorical)),
                                                                                     dtype=object)
    cont = np.asarray(batch.continuous)
    cont = cont.reshape(n, -1) if n else np.empty((0, len(schema.continuous)), dtype=np.float32)
    if cat.shape[1] != len(batch.categorical_names) or cont.shape[1] != len(batch.continuous_names):
        raise InvalidInputError("attribute columns and names disagree in number", "events")
    cat = _reorder(cat, batch.categorical_names, schema.categorical, "categorical")
    cont = _reorder(cont, batch.continuous_names, schema.continuous, "continuous")
    for j, name in enumerate(schema.categorical):
        column = cat[:, j]
        bad = [i for i, v in enumerate(column) if not isinstance(v, _CATEGORY_TYPES) or isinstance(v, bool)]
        if bad:
            i = bad[0]
            what = "missing" if column[i] is None else f"of type {type(column[i]).__name__}"
            raise InvalidInputError(f"event {i}: categorical attribute {name!r} is {what}; expected a string or an "
                                    f"integer", f"events[{i}].{name}")
    if cont.dtype.kind not in "fiu":
        try:
            cont = cont.astype(np.float64)
        except (TypeError, ValueError):
            for j, name in enumerate(schema.continuous):
                for i, v in enumerate(cont[:, j]):
                    try:
                        float(v)
                    except (TypeError, ValueError) as error:
                        raise InvalidInputError(f"event {i}: continuous attribute {name!r} is not a number",
                                                f"events[{i}].{name}") from error
    cont = cont.astype(np.float32)
    finite = np.isfinite(cont)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise InvalidInputError(f"event {i}: continuous attribute {schema.continuous[j]!r} is missing or not a finite "
                                f"number", f"events[{i}].{schema.continuous[j]}")
    if not np.isfinite(times).all():
        i = int(np.argmin(np.isfinite(times)))
        raise InvalidInputError(f"event {i}: time is missing or not finite", f"events[{i}].time")
    if n:
        latest = np.maximum.accumulate(np.concatenate([[last_time], times]))[:-1]
        behind = times < latest - tolerance
        if behind.any():
            i = int(np.argmax(behind))
            raise InvalidInputError(f"event {i}: time {times[i]:.3f} goes back {latest[i] - times[i]:.3f} s, more than "
                                    f"the tolerance of {tolerance:g} s", f"events[{i}].time")
    return EventBatch(times, cat, cont, schema.categorical, schema.continuous)
