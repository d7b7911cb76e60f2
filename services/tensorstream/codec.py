"""Bytes decoder for JSON-lines event uploads (REST / gateway): one JSON object per line.

A line is ``{"time": 1700000000.5 | "2026-12-02T10:00:00Z", "<attr>": value, ...}`` with every attribute of
the schema: categorical values are strings or integers, continuous values numbers. Any problem raises
``InvalidInputError`` naming the line (event index, 0-based) and the field.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.tensorstream.batch import EventBatch, EventSchema

__all__ = ["decode_jsonl", "encode_jsonl", "parse_time"]


def parse_time(value: object, where: str) -> float:
    """Seconds from a number or an ISO 8601 string (naive times are read as UTC)."""
    if isinstance(value, bool) or value is None:
        raise InvalidInputError(f"{where}: time is missing or not a number / ISO 8601 string", where)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise InvalidInputError(f"{where}: time {value!r} is not ISO 8601", where) from error
        if stamp.tzinfo is None:
            from datetime import UTC

            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()
    raise InvalidInputError(f"{where}: time must be a number or an ISO 8601 string", where)


def decode_jsonl(data: bytes, schema: EventSchema, max_bytes: int = 256 * 1024 * 1024) -> EventBatch:
    """An :class:`EventBatch` (schema order) from JSON-lines bytes; blank lines are skipped."""
    if len(data) > max_bytes:
        raise LimitExceededError(f"upload of {len(data)} bytes exceeds the limit of {max_bytes}", "events")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError("upload is not UTF-8 text", "events") from error
    times: list[float] = []
    cats: list[list[object]] = []
    conts: list[list[float]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        i = len(times)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInputError(f"event {i}: not valid JSON ({error.msg})", f"events[{i}]") from error
        if not isinstance(record, dict):
            raise InvalidInputError(f"event {i}: expected a JSON object", f"events[{i}]")
        if schema.time not in record:
            raise InvalidInputError(f"event {i}: missing the time field {schema.time!r}", f"events[{i}].{schema.time}")
        times.append(parse_time(record[schema.time], f"events[{i}].{schema.time}"))
        row_cat = []
        for name in schema.categorical:
            value = record.get(name)
            if isinstance(value, bool) or not isinstance(value, str | int):
                what = "missing" if value is None else f"of type {type(value).__name__}"
                raise InvalidInputError(f"event {i}: categorical attribute {name!r} is {what}; expected a string or "
                                        f"an integer", f"events[{i}].{name}")
            row_cat.append(value)
        row_cont = []
        for name in schema.continuous:
            value = record.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                what = "missing" if value is None else f"{value!r}"
                raise InvalidInputError(f"event {i}: continuous attribute {name!r} is {what}; expected a finite "
                                        f"number", f"events[{i}].{name}")
            row_cont.append(float(value))
        cats.append(row_cat)
        conts.append(row_cont)
    n = len(times)
    cat = np.empty((n, len(schema.categorical)), dtype=object)
    if n:
        cat[:] = cats
    cont = np.asarray(conts, dtype=np.float32).reshape(n, len(schema.continuous))
    return EventBatch(np.asarray(times, dtype=np.float64), cat, cont, schema.categorical, schema.continuous)


def encode_jsonl(batch: EventBatch, time_field: str = "time") -> bytes:
    """JSON-lines bytes of a batch (inverse of :func:`decode_jsonl`)."""
    lines = []
    for i in range(len(batch)):
        record: dict[str, object] = {time_field: float(batch.times[i])}
        for j, name in enumerate(batch.categorical_names):
            v = batch.categorical[i, j]
            record[name] = int(v) if isinstance(v, np.integer) else v
        for j, name in enumerate(batch.continuous_names):
            record[name] = float(batch.continuous[i, j])
        lines.append(json.dumps(record))
    return ("\n".join(lines) + "\n").encode()
