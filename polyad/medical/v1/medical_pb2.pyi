from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WindowPreset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WINDOW_PRESET_UNSPECIFIED: _ClassVar[WindowPreset]
    WINDOW_PRESET_BRAIN: _ClassVar[WindowPreset]
    WINDOW_PRESET_SUBDURAL: _ClassVar[WindowPreset]
    WINDOW_PRESET_LIVER: _ClassVar[WindowPreset]
    WINDOW_PRESET_ABDOMEN: _ClassVar[WindowPreset]
    WINDOW_PRESET_SOFT_TISSUE: _ClassVar[WindowPreset]
    WINDOW_PRESET_LUNG: _ClassVar[WindowPreset]
    WINDOW_PRESET_BONE: _ClassVar[WindowPreset]
WINDOW_PRESET_UNSPECIFIED: WindowPreset
WINDOW_PRESET_BRAIN: WindowPreset
WINDOW_PRESET_SUBDURAL: WindowPreset
WINDOW_PRESET_LIVER: WindowPreset
WINDOW_PRESET_ABDOMEN: WindowPreset
WINDOW_PRESET_SOFT_TISSUE: WindowPreset
WINDOW_PRESET_LUNG: WindowPreset
WINDOW_PRESET_BONE: WindowPreset

class Window(_message.Message):
    __slots__ = ("preset", "center", "width")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    CENTER_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    preset: WindowPreset
    center: float
    width: float
    def __init__(self, preset: _Optional[_Union[WindowPreset, str]] = ..., center: _Optional[float] = ..., width: _Optional[float] = ...) -> None: ...

class Upload(_message.Message):
    __slots__ = ("data", "filename")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    filename: str
    def __init__(self, data: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class VolumeTensor(_message.Message):
    __slots__ = ("values", "spacing", "modality")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SPACING_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    values: _common_pb2.Tensor
    spacing: _containers.RepeatedScalarFieldContainer[float]
    modality: str
    def __init__(self, values: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., spacing: _Optional[_Iterable[float]] = ..., modality: _Optional[str] = ...) -> None: ...

class Study(_message.Message):
    __slots__ = ("id", "upload", "volume")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    id: str
    upload: Upload
    volume: VolumeTensor
    def __init__(self, id: _Optional[str] = ..., upload: _Optional[_Union[Upload, _Mapping]] = ..., volume: _Optional[_Union[VolumeTensor, _Mapping]] = ...) -> None: ...

class OutputOptions(_message.Message):
    __slots__ = ("omit_anomaly_map", "include_nifti_map", "include_dicom_seg", "overlay_slices")
    OMIT_ANOMALY_MAP_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_NIFTI_MAP_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DICOM_SEG_FIELD_NUMBER: _ClassVar[int]
    OVERLAY_SLICES_FIELD_NUMBER: _ClassVar[int]
    omit_anomaly_map: bool
    include_nifti_map: bool
    include_dicom_seg: bool
    overlay_slices: int
    def __init__(self, omit_anomaly_map: _Optional[bool] = ..., include_nifti_map: _Optional[bool] = ..., include_dicom_seg: _Optional[bool] = ..., overlay_slices: _Optional[int] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("study", "model", "policy", "window", "outputs")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    study: Study
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    window: Window
    outputs: OutputOptions
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., window: _Optional[_Union[Window, _Mapping]] = ..., outputs: _Optional[_Union[OutputOptions, _Mapping]] = ...) -> None: ...

class Overlay(_message.Message):
    __slots__ = ("slice_index", "png")
    SLICE_INDEX_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    slice_index: int
    png: bytes
    def __init__(self, slice_index: _Optional[int] = ..., png: _Optional[bytes] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("id", "slice_scores", "scored", "slice_decisions", "volume_score", "volume_p_value", "volume_anomalous", "anomaly_map", "spacing", "nifti_map", "dicom_seg", "overlays", "model")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLICE_SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    SLICE_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_SCORE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_MAP_FIELD_NUMBER: _ClassVar[int]
    SPACING_FIELD_NUMBER: _ClassVar[int]
    NIFTI_MAP_FIELD_NUMBER: _ClassVar[int]
    DICOM_SEG_FIELD_NUMBER: _ClassVar[int]
    OVERLAYS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    slice_scores: _common_pb2.Tensor
    scored: _common_pb2.Tensor
    slice_decisions: _common_pb2.Decisions
    volume_score: float
    volume_p_value: float
    volume_anomalous: bool
    anomaly_map: _common_pb2.Tensor
    spacing: _containers.RepeatedScalarFieldContainer[float]
    nifti_map: bytes
    dicom_seg: bytes
    overlays: _containers.RepeatedCompositeFieldContainer[Overlay]
    model: _common_pb2.ModelRef
    def __init__(self, id: _Optional[str] = ..., slice_scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., scored: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., slice_decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., volume_score: _Optional[float] = ..., volume_p_value: _Optional[float] = ..., volume_anomalous: _Optional[bool] = ..., anomaly_map: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., spacing: _Optional[_Iterable[float]] = ..., nifti_map: _Optional[bytes] = ..., dicom_seg: _Optional[bytes] = ..., overlays: _Optional[_Iterable[_Union[Overlay, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("studies", "detector", "config_json", "calibration_fraction", "window")
    STUDIES_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    studies: _containers.RepeatedCompositeFieldContainer[Study]
    detector: str
    config_json: str
    calibration_fraction: float
    window: Window
    def __init__(self, studies: _Optional[_Iterable[_Union[Study, _Mapping]]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ..., window: _Optional[_Union[Window, _Mapping]] = ...) -> None: ...

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
