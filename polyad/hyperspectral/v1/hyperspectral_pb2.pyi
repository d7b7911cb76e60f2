from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CubeFile(_message.Message):
    __slots__ = ("filename", "content", "variable")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content: bytes
    variable: str
    def __init__(self, filename: _Optional[str] = ..., content: _Optional[bytes] = ..., variable: _Optional[str] = ...) -> None: ...

class Cube(_message.Message):
    __slots__ = ("id", "tensor", "file", "wavelengths_nm")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    WAVELENGTHS_NM_FIELD_NUMBER: _ClassVar[int]
    id: str
    tensor: _common_pb2.Tensor
    file: CubeFile
    wavelengths_nm: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, id: _Optional[str] = ..., tensor: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., file: _Optional[_Union[CubeFile, _Mapping]] = ..., wavelengths_nm: _Optional[_Iterable[float]] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("cube", "model", "policy", "omit_map", "omit_pixel_decisions", "include_overlay_png")
    CUBE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    OMIT_MAP_FIELD_NUMBER: _ClassVar[int]
    OMIT_PIXEL_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OVERLAY_PNG_FIELD_NUMBER: _ClassVar[int]
    cube: Cube
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    omit_map: bool
    omit_pixel_decisions: bool
    include_overlay_png: bool
    def __init__(self, cube: _Optional[_Union[Cube, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., omit_map: _Optional[bool] = ..., omit_pixel_decisions: _Optional[bool] = ..., include_overlay_png: _Optional[bool] = ...) -> None: ...

class SceneSummary(_message.Message):
    __slots__ = ("flagged_pixels", "flagged_fraction", "max_score", "min_p_value", "anomalous", "scene_p_value")
    FLAGGED_PIXELS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    MIN_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    SCENE_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    flagged_pixels: int
    flagged_fraction: float
    max_score: float
    min_p_value: float
    anomalous: bool
    scene_p_value: float
    def __init__(self, flagged_pixels: _Optional[int] = ..., flagged_fraction: _Optional[float] = ..., max_score: _Optional[float] = ..., min_p_value: _Optional[float] = ..., anomalous: _Optional[bool] = ..., scene_p_value: _Optional[float] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("cube_id", "scores", "anomaly_map", "decisions", "summary", "bands_used", "model", "overlay_png", "composite_bands")
    CUBE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_MAP_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    BANDS_USED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OVERLAY_PNG_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_BANDS_FIELD_NUMBER: _ClassVar[int]
    cube_id: str
    scores: _common_pb2.Tensor
    anomaly_map: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    summary: SceneSummary
    bands_used: int
    model: _common_pb2.ModelRef
    overlay_png: bytes
    composite_bands: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, cube_id: _Optional[str] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., anomaly_map: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., summary: _Optional[_Union[SceneSummary, _Mapping]] = ..., bands_used: _Optional[int] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., overlay_png: _Optional[bytes] = ..., composite_bands: _Optional[_Iterable[int]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("cube", "detector", "config_json", "calibration_fraction")
    CUBE_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    cube: Cube
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, cube: _Optional[_Union[Cube, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

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
