"""``tensorstream.v1`` messages <-> :class:`EventBatch` / :class:`EventSchema` / window scores.

Errors are ``InvalidInputError`` naming the field: ``events.categorical[src]``, ``events[12].bytes``…
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polyad.common.v1 import common_pb2
from polyad.tensorstream.v1 import tensorstream_pb2 as pb
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError, LimitExceededError
from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.codec import decode_jsonl
from services.tensorstream.detectors.heterocomp.scoring import WindowScores

__all__ = ["decode_events", "model_schema", "schema_from_proto", "schema_proto", "windows_proto"]

_FLOATS = (common_pb2.DATA_TYPE_FLOAT32, common_pb2.DATA_TYPE_FLOAT64)
_TIMES = (common_pb2.DATA_TYPE_FLOAT64, common_pb2.DATA_TYPE_FLOAT32, common_pb2.DATA_TYPE_INT64)


def model_schema(metadata: Any) -> EventSchema:
    """The schema a stored model accepts (its training summary, else its configuration)."""
    stored = metadata.training_summary.get("schema")
    if stored:
        return EventSchema.model_validate(stored)
    config = metadata.config
    return EventSchema(categorical=tuple(config.get("categorical") or ()), continuous=tuple(config.get("continuous")
                                                                                          or ()))


def schema_proto(schema: EventSchema) -> pb.EventSchema:
    """``tensorstream.v1.EventSchema`` of a schema (categorical attributes first)."""
    attributes = [pb.Attribute(name=n, type=pb.ATTRIBUTE_TYPE_CATEGORICAL) for n in schema.categorical]
    attributes += [pb.Attribute(name=n, type=pb.ATTRIBUTE_TYPE_CONTINUOUS) for n in schema.continuous]
    return pb.EventSchema(time_field=schema.time, attributes=attributes)


def schema_from_proto(message: pb.EventSchema, field: str = "schema") -> EventSchema | None:
    """The declared schema, or None when the message declares no attribute."""
    if not message.attributes:
        return None
    seen: set[str] = set()
    categorical, continuous = [], []
    for i, attribute in enumerate(message.attributes):
        where = f"{field}.attributes[{i}]"
        if not attribute.name or attribute.name in seen:
            raise InvalidInputError(f"{where}: attribute names must be non-empty and unique, got {attribute.name!r}",
                                    where)
        seen.add(attribute.name)
        if attribute.type == pb.ATTRIBUTE_TYPE_CATEGORICAL:
            categorical.append(attribute.name)
        elif attribute.type == pb.ATTRIBUTE_TYPE_CONTINUOUS:
            continuous.append(attribute.name)
        else:
            raise InvalidInputError(f"{where}: attribute {attribute.name!r} needs a type (categorical or "
                                    f"continuous)", f"{where}.type")
    time = message.time_field or "time"
    if time in seen:
        raise InvalidInputError(f"{field}.time_field {time!r} is also an attribute name", f"{field}.time_field")
    return EventSchema(time=time, categorical=tuple(categorical), continuous=tuple(continuous))


def _check_names(names: list[str], wanted: tuple[str, ...], kind: str, field: str) -> None:
    unknown = [name for name in names if name not in wanted]
    if unknown:
        raise InvalidInputError(f"{field}.{kind}: attribute {unknown[0]!r} is not a {kind} attribute of the model; "
                                f"expected {list(wanted)}", f"{field}.{kind}[{unknown[0]}]")
    missing = [name for name in wanted if name not in names]
    if missing:
        raise InvalidInputError(f"{field}.{kind}: the {kind} attribute {missing[0]!r} is missing; expected "
                                f"{list(wanted)}", f"{field}.{kind}[{missing[0]}]")
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{field}.{kind}: an attribute is given twice", f"{field}.{kind}")


def decode_events(events: pb.Events, schema: EventSchema, field: str = "events", max_events: int = 1_000_000,
                  max_bytes: int = 256 * 1024 * 1024) -> EventBatch:
    """An :class:`EventBatch` in schema order from columns or JSON lines (values are checked by the detector's
    validation; shapes, names and dtypes here)."""
    if events.jsonl:
        if events.HasField("times") or events.categorical or events.continuous:
            raise InvalidInputError(f"{field}: set either jsonl or the columns, not both", field)
        batch = decode_jsonl(events.jsonl, schema, max_bytes)
    else:
        if not events.HasField("times"):
            raise InvalidInputError(f"{field}.times is missing; send times + columns, or jsonl", f"{field}.times")
        times = to_numpy(events.times, f"{field}.times", _TIMES, (1,), max_bytes).astype(np.float64)
        n = times.shape[0]
        _check_names([c.name for c in events.categorical], schema.categorical, "categorical", field)
        _check_names([c.name for c in events.continuous], schema.continuous, "continuous", field)
        cat = np.empty((n, len(schema.categorical)), dtype=object)
        for column in events.categorical:
            if len(column.values) != n:
                raise InvalidInputError(f"{field}.categorical[{column.name}]: {len(column.values)} values for {n} "
                                        f"times", f"{field}.categorical[{column.name}]")
            cat[:, schema.categorical.index(column.name)] = list(column.values)
        cont = np.zeros((n, len(schema.continuous)), dtype=np.float32)
        for column in events.continuous:
            where = f"{field}.continuous[{column.name}]"
            values = to_numpy(column.values, where, _FLOATS, (1,), max_bytes)
            if values.shape[0] != n:
                raise InvalidInputError(f"{where}: {values.shape[0]} values for {n} times", where)
            cont[:, schema.continuous.index(column.name)] = values
        batch = EventBatch(times, cat, cont, schema.categorical, schema.continuous)
    if len(batch) > max_events:
        raise LimitExceededError(f"{field}: {len(batch)} events; the limit is {max_events}", field)
    return batch


def windows_proto(windows: WindowScores, window_seconds: float, p_values: np.ndarray,
                  anomalous: np.ndarray, decision: Any) -> list[pb.WindowScore]:
    """``WindowScore`` messages (time order) with each window's p-value and flag under ``decision``."""
    out = []
    for i in range(len(windows)):
        flags = common_pb2.Decisions(
            p_values=from_numpy(p_values[i : i + 1].astype(np.float64)),
            anomalous=from_numpy(anomalous[i : i + 1].astype(bool)), rule=decision.rule, alpha=decision.alpha,
            p_value_threshold=decision.p_value_threshold)
        intensity, burst, joint = (float(v) for v in windows.terms[i])
        out.append(pb.WindowScore(
            index=int(windows.index[i]), start=float(windows.start[i]), window_seconds=window_seconds,
            event_count=int(windows.n_events[i]), expected_count=float(windows.expected[i]),
            score=float(windows.score[i]), component=int(windows.component[i]), intensity=intensity, burst=burst,
            joint=joint, decision=flags))
    return out
