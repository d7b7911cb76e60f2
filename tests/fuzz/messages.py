"""Hypothesis strategies for malformed protobuf requests, driven by the message descriptors.

Every fuzzed method starts from a small *valid* seed request (:func:`seeds`), and a strategy applies
1–3 mutations anywhere in it: a tensor with a wrong / unknown dtype, a wrong or huge declared shape,
truncated, empty or NaN/inf data; an unknown enum value; extreme numbers; strings and bytes replaced by
junk; repeated fields emptied or repeated; a sub-message cleared. Two more strategies send the seed's
bytes truncated, and random bytes as the serialized message. Nothing here knows a service beyond its seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from polyad.common.v1 import common_pb2
from services.core.codecs import from_numpy

__all__ = ["Slot", "malformed_bytes", "mutated", "seeds", "slots"]

F = FieldDescriptor
TENSOR = common_pb2.Tensor.DESCRIPTOR.full_name
HUGE_DIMS = (2**31, 2**40, 2**62, -1, 0)
JUNK_STRINGS = ("", "\x00", "ß" * 300, "../../../etc/passwd", "latest", "{", '{"train_steps": -1}', "NaN", "a" * 5000)
JUNK_BYTES = (b"", b"\x00", b"\xff\xfe\xfd", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"a" * 40 + b"!",
              b"{not json", b"1,2\n3", b"0 1\n1 0\n" * 3)
EXTREME = {
    F.TYPE_DOUBLE: (math.nan, math.inf, -math.inf, -1.0, 0.0, 1e308, 2.0),
    F.TYPE_FLOAT: (math.nan, math.inf, -math.inf, -1.0, 3e38),
    F.TYPE_INT32: (-(2**31), -1, 2**31 - 1), F.TYPE_INT64: (-(2**63), -1, 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1, 2**31), F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_BOOL: (True, False),
}


@dataclass(frozen=True)
class Slot:
    """A field reachable in a message: the path of (field name, index) steps to its parent, and the field."""

    path: tuple[tuple[str, int | None], ...]
    field: FieldDescriptor


def slots(message: Message, prefix: tuple[tuple[str, int | None], ...] = ()) -> list[Slot]:
    """Every field of ``message``'s descriptor (set or not), and recursively those of set sub-messages."""
    found: list[Slot] = []
    for field in message.DESCRIPTOR.fields:
        found.append(Slot(prefix, field))
        if field.type != F.TYPE_MESSAGE or field.message_type.GetOptions().map_entry:
            continue
        if field.is_repeated:
            for i, item in enumerate(getattr(message, field.name)):
                found += slots(item, (*prefix, (field.name, i)))
        elif message.HasField(field.name):
            found += slots(getattr(message, field.name), (*prefix, (field.name, None)))
    return found


def _parent(message: Message, path: tuple[tuple[str, int | None], ...]) -> Message:
    for name, index in path:
        message = getattr(message, name) if index is None else getattr(message, name)[index]
    return message


def _bad_tensor(draw: st.DrawFn, current: common_pb2.Tensor) -> common_pb2.Tensor:
    kind = draw(st.sampled_from(["dtype", "unknown_dtype", "shape", "huge", "truncate", "extend", "empty",
                                 "nonfinite", "scalar"]))
    tensor = common_pb2.Tensor()
    tensor.CopyFrom(current)
    if kind == "dtype":
        tensor.dtype = draw(st.sampled_from([v for v in common_pb2.DataType.values() if v != tensor.dtype]))
    elif kind == "unknown_dtype":
        tensor.dtype = draw(st.sampled_from([8, 99, 2**31 - 1, -1]))
    elif kind == "shape":
        tensor.ClearField("shape")
        tensor.shape.extend(draw(st.lists(st.integers(-3, 70), max_size=5)))
    elif kind == "huge":
        tensor.ClearField("shape")
        tensor.shape.extend(draw(st.lists(st.sampled_from(HUGE_DIMS), min_size=1, max_size=3)))
    elif kind == "truncate":
        tensor.data = tensor.data[: draw(st.integers(0, max(len(tensor.data) - 1, 0)))]
    elif kind == "extend":
        tensor.data += draw(st.binary(min_size=1, max_size=9))
    elif kind == "empty":
        tensor.ClearField("data")
        if draw(st.booleans()):
            tensor.ClearField("shape")
    elif kind == "nonfinite":
        fill = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e38]))
        shape = list(tensor.shape)
        if not shape or min(shape) < 0 or math.prod(shape) > 65_536:  # the test must not allocate the huge shape
            shape = [4]
        tensor.CopyFrom(from_numpy(np.full(shape, fill, dtype=np.float32 if tensor.dtype != 2 else np.float64)))
    else:
        tensor.CopyFrom(from_numpy(np.array(draw(st.sampled_from([0.0, math.nan, 7.0])), dtype=np.float32)))
    return tensor


def _mutate(draw: st.DrawFn, message: Message, slot: Slot, grow: bool) -> None:
    parent, field = _parent(message, slot.path), slot.field
    name, repeated = field.name, field.is_repeated
    if field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        parent.ClearField(name)
        return
    if repeated:
        values = getattr(parent, name)
        actions = ["clear", "repeat", "item"] if grow else ["clear", "item"]
        action = draw(st.sampled_from(actions if len(values) else ["add"]))
        if action == "clear":
            parent.ClearField(name)
        elif action == "repeat":  # a few more of the same: crosses small limits, stays cheap
            items = list(values)[:1] * draw(st.integers(1, 40))
            if field.type == F.TYPE_MESSAGE:
                for item in items:
                    values.add().CopyFrom(item)
            else:
                values.extend(items)
        elif action == "add":
            if field.type == F.TYPE_MESSAGE:
                values.add()
            else:
                values.append(_scalar(draw, field))
        elif field.type == F.TYPE_MESSAGE:
            index = draw(st.integers(0, len(values) - 1))
            _mutate_message(draw, values[index])
        else:
            values[draw(st.integers(0, len(values) - 1))] = _scalar(draw, field)
        return
    if field.type == F.TYPE_MESSAGE:
        if draw(st.booleans()) and parent.HasField(name):
            parent.ClearField(name)
        else:
            _mutate_message(draw, getattr(parent, name))
        return
    setattr(parent, name, _scalar(draw, field))


def _mutate_message(draw: st.DrawFn, message: Message) -> None:
    if message.DESCRIPTOR.full_name == TENSOR:
        message.CopyFrom(_bad_tensor(draw, message))
    else:
        message.SetInParent()


def _scalar(draw: st.DrawFn, field: FieldDescriptor) -> Any:
    if field.type == F.TYPE_ENUM:  # known values, and unknown ones (open enums keep them)
        return draw(st.sampled_from([*field.enum_type.values_by_number, 4, 77, 2**31 - 1, -5]))
    if field.type == F.TYPE_STRING:
        return draw(st.sampled_from(JUNK_STRINGS) | st.text(max_size=40))
    if field.type == F.TYPE_BYTES:
        return draw(st.sampled_from(JUNK_BYTES) | st.binary(max_size=64))
    return draw(st.sampled_from(EXTREME[field.type]))


@st.composite
def mutated(draw: st.DrawFn, seed: Message, grow: bool = True) -> Message:
    """``seed`` with 1–3 mutations (or cleared altogether); ``grow=False`` never adds repeated items (Fit: a
    mutation must not turn the too-small seed into a real training job)."""
    message = type(seed)()
    message.CopyFrom(seed)
    if draw(st.integers(0, 19)) == 0:
        return type(seed)()  # the empty message
    for _ in range(draw(st.integers(1, 3))):
        found = slots(message)
        _mutate(draw, message, draw(st.sampled_from(found)), grow)
    return message


def malformed_bytes(seed: Message) -> st.SearchStrategy[bytes]:
    """The seed's bytes truncated, a byte flipped, or random bytes (which may not parse at all)."""
    data = seed.SerializeToString()

    def flip(i: int) -> bytes:
        return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:] if data else b"\xff"

    return st.one_of(
        st.integers(0, max(len(data) - 1, 0)).map(lambda n: data[:n]),
        st.integers(0, max(len(data) - 1, 0)).map(flip),
        st.binary(min_size=1, max_size=256),
        st.sampled_from([b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\xff" * 10, b"\x12\x80\x80\x80\x80\x10"]),
    )


def _series(n: int = 128) -> np.ndarray:
    t = np.arange(n, dtype=np.float32)
    return np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], axis=1).astype(np.float32)


def _image() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(_image()).save(out, format="PNG")
    return out.getvalue()


def _graph(pb: Any) -> Any:
    rng = np.random.default_rng(2)
    n = 30
    edges = np.stack([np.arange(n), (np.arange(n) + 1) % n]).astype(np.int64)
    return pb.Graph(id="g", node_features=from_numpy(rng.normal(size=(n, 16)).astype(np.float32)),
                    edge_index=from_numpy(edges), target_nodes=from_numpy(np.array([0, 5], dtype=np.int64)))


def _events(pb: Any, n: int = 40) -> Any:
    from services.tensorstream.netgen import network_stream

    batch = network_stream(seed=3, days=0.02, rate=0.5, n_anomalies=0).events.take(slice(0, n))
    return pb.Events(
        times=from_numpy(batch.times.astype(np.float64)),
        categorical=[pb.CategoricalColumn(name=name, values=[str(v) for v in batch.categorical[:, j]])
                     for j, name in enumerate(batch.categorical_names)],
        continuous=[pb.ContinuousColumn(name=name, values=from_numpy(batch.continuous[:, j]))
                    for j, name in enumerate(batch.continuous_names)])


def _policy() -> common_pb2.DecisionPolicy:
    return common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG, alpha=0.05, window=8)


def _timeseries() -> dict[str, Message]:
    from polyad.timeseries.v1 import timeseries_pb2 as pb

    values = from_numpy(_series())
    return {"Detect": pb.DetectRequest(series=[pb.Series(id="s", values=values)], policy=_policy()),
            "StreamDetect": pb.StreamDetectRequest(stream_id="a", points=values, policy=_policy()),
            "Fit": pb.FitRequest(values=from_numpy(_series(20)), config_json='{"train_steps": 1}'),
            "GetModelInfo": pb.GetModelInfoRequest(model=common_pb2.ModelRef(detector="comet"))}


def _vision() -> dict[str, Message]:
    from polyad.vision.v1 import vision_pb2 as pb

    images = [pb.Image(id="png", encoded=_png()), pb.Image(id="px", pixels=from_numpy(_image()))]
    return {"Detect": pb.DetectRequest(images=images, policy=_policy(), include_heatmap_png=True),
            "Fit": pb.FitRequest(images=images[:1], config_json='{"kd_steps": 1}'),
            "GetModelInfo": pb.GetModelInfoRequest()}


def _logs() -> dict[str, Message]:
    from polyad.logs.v1 import logs_pb2 as pb

    lines = [b"081109 203615 148 INFO dfs.DataNode: Receiving block blk_1 src: /10.0.0.1",
             b"081109 203616 149 INFO dfs.DataNode: PacketResponder 1 for block blk_1 terminating"]
    return {"Detect": pb.DetectRequest(sessions=[pb.Session(id="s", lines=lines)], top_lines=2, policy=_policy()),
            "StreamDetect": pb.StreamDetectRequest(lines=[pb.LogLine(text=line, session_key="k") for line in lines],
                                                   session_pattern=r"(blk_\d+)", window_lines=4),
            "Fit": pb.FitRequest(sessions=[pb.Session(lines=lines)], config_json='{"train_steps": 1}'),
            "GetModelInfo": pb.GetModelInfoRequest()}


def _graph_seeds() -> dict[str, Message]:
    from polyad.graph.v1 import graph_pb2 as pb

    graph = _graph(pb)
    return {"Detect": pb.DetectRequest(graph=graph, explain_top_k=2, policy=_policy()),
            "Fit": pb.FitRequest(graph=graph, labels=from_numpy(np.zeros(30, dtype=np.int64)),
                                 config_json='{"epochs": 1}'),
            "GetModelInfo": pb.GetModelInfoRequest()}


def _tensorstream() -> dict[str, Message]:
    from polyad.tensorstream.v1 import tensorstream_pb2 as pb

    events = _events(pb)
    return {"Detect": pb.DetectRequest(events=events, explain=True, policy=_policy()),
            "StreamDetect": pb.StreamDetectRequest(stream_id="n", events=events, policy=_policy()),
            "Fit": pb.FitRequest(events=_events(pb, 20), config_json='{"em_iters": 1}'),
            "GetModelInfo": pb.GetModelInfoRequest()}


SEEDS: dict[str, Callable[[], dict[str, Message]]] = {
    "timeseries": _timeseries, "vision": _vision, "logs": _logs, "graph": _graph_seeds,
    "tensorstream": _tensorstream,
}


def seeds(service: str) -> dict[str, Message]:
    """Small valid requests of every method of ``service`` (Fit seeds hold too little data to train)."""
    return SEEDS[service]()
