"""Loaders of users' event logs: CSV, Parquet and JSON lines, one event per row, columns named by a schema.

The time column holds seconds or date-time strings (ISO 8601; naive times read as UTC). Rows are sorted by
time. Categorical columns are read as strings; continuous columns must be numeric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.core.errors import InvalidInputError
from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.codec import decode_jsonl, encode_jsonl

__all__ = ["load_events", "save_events"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInputError(f"{path.name}: unknown event-log format; expected one of {sorted(FORMATS)}", "path")
    return fmt


def _frame_to_batch(frame, schema: EventSchema, source: str) -> EventBatch:  # type: ignore[no-untyped-def]
    import pandas as pd

    missing = [c for c in (schema.time, *schema.attributes) if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{source} lacks the columns {missing}", missing[0])
    t = frame[schema.time]
    if not pd.api.types.is_numeric_dtype(t):
        t = (pd.to_datetime(t, utc=True) - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    frame = frame.assign(**{schema.time: t.astype(np.float64)}).sort_values(schema.time, kind="stable")
    for name in schema.continuous:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise InvalidInputError(f"{source}: column {name!r} is not numeric", name)
    cat = frame[list(schema.categorical)].astype(str).astype(object).to_numpy()
    cont = frame[list(schema.continuous)].to_numpy(dtype=np.float32)
    return EventBatch(frame[schema.time].to_numpy(np.float64), cat, cont, schema.categorical, schema.continuous)


def load_events(path: str | Path, schema: EventSchema) -> EventBatch:
    """Events of a ``.csv``, ``.parquet`` or ``.jsonl`` file, sorted by time."""
    import pandas as pd

    path = Path(path)
    fmt = _format(path)
    if fmt == "jsonl":
        batch = decode_jsonl(path.read_bytes(), schema)
        order = np.argsort(batch.times, kind="stable")
        return batch.take(order)
    if fmt == "csv":
        frame = pd.read_csv(path, dtype={name: str for name in schema.categorical})
    else:
        frame = pd.read_parquet(path)
    return _frame_to_batch(frame, schema, path.name)


def save_events(batch: EventBatch, path: str | Path, time_field: str = "time") -> None:
    """Write a batch as ``.csv``, ``.parquet`` or ``.jsonl`` (categorical values as strings in CSV/Parquet)."""
    import pandas as pd

    path = Path(path)
    fmt = _format(path)
    if fmt == "jsonl":
        path.write_bytes(encode_jsonl(batch, time_field))
        return
    columns = {time_field: batch.times}
    for j, name in enumerate(batch.categorical_names):
        columns[name] = batch.categorical[:, j].astype(str)
    for j, name in enumerate(batch.continuous_names):
        columns[name] = batch.continuous[:, j]
    frame = pd.DataFrame(columns)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
