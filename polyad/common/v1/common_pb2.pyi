import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_TYPE_UNSPECIFIED: _ClassVar[DataType]
    DATA_TYPE_FLOAT32: _ClassVar[DataType]
    DATA_TYPE_FLOAT64: _ClassVar[DataType]
    DATA_TYPE_INT32: _ClassVar[DataType]
    DATA_TYPE_INT64: _ClassVar[DataType]
    DATA_TYPE_UINT8: _ClassVar[DataType]
    DATA_TYPE_BOOL: _ClassVar[DataType]
    DATA_TYPE_FLOAT16: _ClassVar[DataType]

class DecisionRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_RULE_UNSPECIFIED: _ClassVar[DecisionRule]
    DECISION_RULE_ALPHA: _ClassVar[DecisionRule]
    DECISION_RULE_BENJAMINI_HOCHBERG: _ClassVar[DecisionRule]
    DECISION_RULE_BENJAMINI_YEKUTIELI: _ClassVar[DecisionRule]
DATA_TYPE_UNSPECIFIED: DataType
DATA_TYPE_FLOAT32: DataType
DATA_TYPE_FLOAT64: DataType
DATA_TYPE_INT32: DataType
DATA_TYPE_INT64: DataType
DATA_TYPE_UINT8: DataType
DATA_TYPE_BOOL: DataType
DATA_TYPE_FLOAT16: DataType
DECISION_RULE_UNSPECIFIED: DecisionRule
DECISION_RULE_ALPHA: DecisionRule
DECISION_RULE_BENJAMINI_HOCHBERG: DecisionRule
DECISION_RULE_BENJAMINI_YEKUTIELI: DecisionRule

class Tensor(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: DataType
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[_Union[DataType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class DecisionPolicy(_message.Message):
    __slots__ = ("rule", "alpha", "window")
    RULE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    rule: DecisionRule
    alpha: float
    window: int
    def __init__(self, rule: _Optional[_Union[DecisionRule, str]] = ..., alpha: _Optional[float] = ..., window: _Optional[int] = ...) -> None: ...

class Decisions(_message.Message):
    __slots__ = ("p_values", "anomalous", "rule", "alpha", "p_value_threshold")
    P_VALUES_FIELD_NUMBER: _ClassVar[int]
    ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    p_values: Tensor
    anomalous: Tensor
    rule: DecisionRule
    alpha: float
    p_value_threshold: float
    def __init__(self, p_values: _Optional[_Union[Tensor, _Mapping]] = ..., anomalous: _Optional[_Union[Tensor, _Mapping]] = ..., rule: _Optional[_Union[DecisionRule, str]] = ..., alpha: _Optional[float] = ..., p_value_threshold: _Optional[float] = ...) -> None: ...

class Region(_message.Message):
    __slots__ = ("start", "end", "peak_score", "min_p_value")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PEAK_SCORE_FIELD_NUMBER: _ClassVar[int]
    MIN_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    peak_score: float
    min_p_value: float
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., peak_score: _Optional[float] = ..., min_p_value: _Optional[float] = ...) -> None: ...

class ModelRef(_message.Message):
    __slots__ = ("detector", "version")
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    detector: str
    version: str
    def __init__(self, detector: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("service", "detector", "version", "modality", "input_dtype", "input_shape", "input_description", "config_json", "training_summary_json", "metrics", "created_at", "calibration_size", "backend", "detectors", "unavailable_detectors")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class UnavailableDetectorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    INPUT_DTYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_SIZE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_DETECTORS_FIELD_NUMBER: _ClassVar[int]
    service: str
    detector: str
    version: str
    modality: str
    input_dtype: DataType
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    input_description: str
    config_json: str
    training_summary_json: str
    metrics: _containers.ScalarMap[str, float]
    created_at: _timestamp_pb2.Timestamp
    calibration_size: int
    backend: str
    detectors: _containers.RepeatedScalarFieldContainer[str]
    unavailable_detectors: _containers.ScalarMap[str, str]
    def __init__(self, service: _Optional[str] = ..., detector: _Optional[str] = ..., version: _Optional[str] = ..., modality: _Optional[str] = ..., input_dtype: _Optional[_Union[DataType, str]] = ..., input_shape: _Optional[_Iterable[int]] = ..., input_description: _Optional[str] = ..., config_json: _Optional[str] = ..., training_summary_json: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calibration_size: _Optional[int] = ..., backend: _Optional[str] = ..., detectors: _Optional[_Iterable[str]] = ..., unavailable_detectors: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("field", "reason")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    field: str
    reason: str
    def __init__(self, field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
