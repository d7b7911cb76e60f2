from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Image(_message.Message):
    __slots__ = ("id", "encoded", "pixels")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    PIXELS_FIELD_NUMBER: _ClassVar[int]
    id: str
    encoded: bytes
    pixels: _common_pb2.Tensor
    def __init__(self, id: _Optional[str] = ..., encoded: _Optional[bytes] = ..., pixels: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("images", "model", "policy", "include_heatmap_png", "omit_anomaly_map")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HEATMAP_PNG_FIELD_NUMBER: _ClassVar[int]
    OMIT_ANOMALY_MAP_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    include_heatmap_png: bool
    omit_anomaly_map: bool
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., include_heatmap_png: _Optional[bool] = ..., omit_anomaly_map: _Optional[bool] = ...) -> None: ...

class ImageResult(_message.Message):
    __slots__ = ("id", "score", "p_value", "anomalous", "anomaly_map", "heatmap_png")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_MAP_FIELD_NUMBER: _ClassVar[int]
    HEATMAP_PNG_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    p_value: float
    anomalous: bool
    anomaly_map: _common_pb2.Tensor
    heatmap_png: bytes
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., p_value: _Optional[float] = ..., anomalous: _Optional[bool] = ..., anomaly_map: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., heatmap_png: _Optional[bytes] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("results", "model", "rule", "alpha", "p_value_threshold")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ImageResult]
    model: _common_pb2.ModelRef
    rule: _common_pb2.DecisionRule
    alpha: float
    p_value_threshold: float
    def __init__(self, results: _Optional[_Iterable[_Union[ImageResult, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., rule: _Optional[_Union[_common_pb2.DecisionRule, str]] = ..., alpha: _Optional[float] = ..., p_value_threshold: _Optional[float] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("images", "detector", "config_json", "calibration_fraction")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

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
