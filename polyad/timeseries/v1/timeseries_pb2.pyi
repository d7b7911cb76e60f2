from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Series(_message.Message):
    __slots__ = ("id", "values", "csv")
    ID_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    CSV_FIELD_NUMBER: _ClassVar[int]
    id: str
    values: _common_pb2.Tensor
    csv: bytes
    def __init__(self, id: _Optional[str] = ..., values: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., csv: _Optional[bytes] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("series", "model", "policy")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[Series]
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    def __init__(self, series: _Optional[_Iterable[_Union[Series, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ...) -> None: ...

class SeriesResult(_message.Message):
    __slots__ = ("id", "scores", "decisions", "regions", "max_score")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    id: str
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    regions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Region]
    max_score: float
    def __init__(self, id: _Optional[str] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., regions: _Optional[_Iterable[_Union[_common_pb2.Region, _Mapping]]] = ..., max_score: _Optional[float] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("results", "model")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SeriesResult]
    model: _common_pb2.ModelRef
    def __init__(self, results: _Optional[_Iterable[_Union[SeriesResult, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class StreamDetectRequest(_message.Message):
    __slots__ = ("stream_id", "points", "adapt", "policy", "model", "close")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ADAPT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    points: _common_pb2.Tensor
    adapt: bool
    policy: _common_pb2.DecisionPolicy
    model: _common_pb2.ModelRef
    close: bool
    def __init__(self, stream_id: _Optional[str] = ..., points: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., adapt: _Optional[bool] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., close: _Optional[bool] = ...) -> None: ...

class StreamDetectResponse(_message.Message):
    __slots__ = ("stream_id", "offset", "scores", "decisions")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    offset: int
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    def __init__(self, stream_id: _Optional[str] = ..., offset: _Optional[int] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("values", "detector", "config_json", "calibration_fraction")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    values: _common_pb2.Tensor
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, values: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

class FitResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelRef
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ...) -> None: ...
