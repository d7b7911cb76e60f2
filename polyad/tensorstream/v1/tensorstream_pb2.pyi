from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttributeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTE_TYPE_UNSPECIFIED: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_CATEGORICAL: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_CONTINUOUS: _ClassVar[AttributeType]
ATTRIBUTE_TYPE_UNSPECIFIED: AttributeType
ATTRIBUTE_TYPE_CATEGORICAL: AttributeType
ATTRIBUTE_TYPE_CONTINUOUS: AttributeType

class Attribute(_message.Message):
    __slots__ = ("name", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: AttributeType
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[AttributeType, str]] = ...) -> None: ...

class EventSchema(_message.Message):
    __slots__ = ("time_field", "attributes")
    TIME_FIELD_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    time_field: str
    attributes: _containers.RepeatedCompositeFieldContainer[Attribute]
    def __init__(self, time_field: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[Attribute, _Mapping]]] = ...) -> None: ...

class CategoricalColumn(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class ContinuousColumn(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _common_pb2.Tensor
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class Events(_message.Message):
    __slots__ = ("times", "categorical", "continuous", "jsonl")
    TIMES_FIELD_NUMBER: _ClassVar[int]
    CATEGORICAL_FIELD_NUMBER: _ClassVar[int]
    CONTINUOUS_FIELD_NUMBER: _ClassVar[int]
    JSONL_FIELD_NUMBER: _ClassVar[int]
    times: _common_pb2.Tensor
    categorical: _containers.RepeatedCompositeFieldContainer[CategoricalColumn]
    continuous: _containers.RepeatedCompositeFieldContainer[ContinuousColumn]
    jsonl: bytes
    def __init__(self, times: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., categorical: _Optional[_Iterable[_Union[CategoricalColumn, _Mapping]]] = ..., continuous: _Optional[_Iterable[_Union[ContinuousColumn, _Mapping]]] = ..., jsonl: _Optional[bytes] = ...) -> None: ...

class WindowScore(_message.Message):
    __slots__ = ("index", "start", "window_seconds", "event_count", "expected_count", "score", "component", "intensity", "burst", "joint", "decision")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    JOINT_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    index: int
    start: float
    window_seconds: float
    event_count: int
    expected_count: float
    score: float
    component: int
    intensity: float
    burst: float
    joint: float
    decision: _common_pb2.Decisions
    def __init__(self, index: _Optional[int] = ..., start: _Optional[float] = ..., window_seconds: _Optional[float] = ..., event_count: _Optional[int] = ..., expected_count: _Optional[float] = ..., score: _Optional[float] = ..., component: _Optional[int] = ..., intensity: _Optional[float] = ..., burst: _Optional[float] = ..., joint: _Optional[float] = ..., decision: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ...) -> None: ...

class EventEvidence(_message.Message):
    __slots__ = ("component", "attribute_nll", "attributes")
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_NLL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    component: _common_pb2.Tensor
    attribute_nll: _common_pb2.Tensor
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, component: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., attribute_nll: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("events", "model", "policy", "explain")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    events: Events
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    explain: bool
    def __init__(self, events: _Optional[_Union[Events, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., explain: _Optional[bool] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("scores", "decisions", "windows", "evidence", "model")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    windows: _containers.RepeatedCompositeFieldContainer[WindowScore]
    evidence: EventEvidence
    model: _common_pb2.ModelRef
    def __init__(self, scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., windows: _Optional[_Iterable[_Union[WindowScore, _Mapping]]] = ..., evidence: _Optional[_Union[EventEvidence, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class StreamDetectRequest(_message.Message):
    __slots__ = ("stream_id", "events", "adapt", "policy", "model", "close")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ADAPT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    events: Events
    adapt: bool
    policy: _common_pb2.DecisionPolicy
    model: _common_pb2.ModelRef
    close: bool
    def __init__(self, stream_id: _Optional[str] = ..., events: _Optional[_Union[Events, _Mapping]] = ..., adapt: _Optional[bool] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., close: _Optional[bool] = ...) -> None: ...

class StreamDetectResponse(_message.Message):
    __slots__ = ("stream_id", "offset", "scores", "decisions", "windows", "error")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    offset: int
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    windows: _containers.RepeatedCompositeFieldContainer[WindowScore]
    error: _common_pb2.ErrorDetail
    def __init__(self, stream_id: _Optional[str] = ..., offset: _Optional[int] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., windows: _Optional[_Iterable[_Union[WindowScore, _Mapping]]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("events", "schema", "detector", "config_json", "calibration_fraction")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    events: Events
    schema: EventSchema
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, events: _Optional[_Union[Events, _Mapping]] = ..., schema: _Optional[_Union[EventSchema, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

class FitResponse(_message.Message):
    __slots__ = ("model", "schema")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    schema: EventSchema
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., schema: _Optional[_Union[EventSchema, _Mapping]] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelRef
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("model", "schema")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    schema: EventSchema
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., schema: _Optional[_Union[EventSchema, _Mapping]] = ...) -> None: ...
