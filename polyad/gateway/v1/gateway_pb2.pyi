from google.protobuf import any_pb2 as _any_pb2
from polyad.graph.v1 import graph_pb2 as _graph_pb2
from polyad.logs.v1 import logs_pb2 as _logs_pb2
from polyad.timeseries.v1 import timeseries_pb2 as _timeseries_pb2
from polyad.vision.v1 import vision_pb2 as _vision_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetectRequest(_message.Message):
    __slots__ = ("timeseries", "vision", "logs", "graph", "other")
    TIMESERIES_FIELD_NUMBER: _ClassVar[int]
    VISION_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    timeseries: _timeseries_pb2.DetectRequest
    vision: _vision_pb2.DetectRequest
    logs: _logs_pb2.DetectRequest
    graph: _graph_pb2.DetectRequest
    other: _any_pb2.Any
    def __init__(self, timeseries: _Optional[_Union[_timeseries_pb2.DetectRequest, _Mapping]] = ..., vision: _Optional[_Union[_vision_pb2.DetectRequest, _Mapping]] = ..., logs: _Optional[_Union[_logs_pb2.DetectRequest, _Mapping]] = ..., graph: _Optional[_Union[_graph_pb2.DetectRequest, _Mapping]] = ..., other: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("service", "timeseries", "vision", "logs", "graph", "other")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TIMESERIES_FIELD_NUMBER: _ClassVar[int]
    VISION_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    service: str
    timeseries: _timeseries_pb2.DetectResponse
    vision: _vision_pb2.DetectResponse
    logs: _logs_pb2.DetectResponse
    graph: _graph_pb2.DetectResponse
    other: _any_pb2.Any
    def __init__(self, service: _Optional[str] = ..., timeseries: _Optional[_Union[_timeseries_pb2.DetectResponse, _Mapping]] = ..., vision: _Optional[_Union[_vision_pb2.DetectResponse, _Mapping]] = ..., logs: _Optional[_Union[_logs_pb2.DetectResponse, _Mapping]] = ..., graph: _Optional[_Union[_graph_pb2.DetectResponse, _Mapping]] = ..., other: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class StreamDetectRequest(_message.Message):
    __slots__ = ("timeseries", "logs", "other")
    TIMESERIES_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    timeseries: _timeseries_pb2.StreamDetectRequest
    logs: _logs_pb2.StreamDetectRequest
    other: _any_pb2.Any
    def __init__(self, timeseries: _Optional[_Union[_timeseries_pb2.StreamDetectRequest, _Mapping]] = ..., logs: _Optional[_Union[_logs_pb2.StreamDetectRequest, _Mapping]] = ..., other: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class StreamDetectResponse(_message.Message):
    __slots__ = ("service", "timeseries", "logs", "other")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TIMESERIES_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    service: str
    timeseries: _timeseries_pb2.StreamDetectResponse
    logs: _logs_pb2.StreamDetectResponse
    other: _any_pb2.Any
    def __init__(self, service: _Optional[str] = ..., timeseries: _Optional[_Union[_timeseries_pb2.StreamDetectResponse, _Mapping]] = ..., logs: _Optional[_Union[_logs_pb2.StreamDetectResponse, _Mapping]] = ..., other: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServiceStatus(_message.Message):
    __slots__ = ("name", "modality", "address", "ready", "unavailable_detectors")
    class UnavailableDetectorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_DETECTORS_FIELD_NUMBER: _ClassVar[int]
    name: str
    modality: str
    address: str
    ready: bool
    unavailable_detectors: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., modality: _Optional[str] = ..., address: _Optional[str] = ..., ready: _Optional[bool] = ..., unavailable_detectors: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceStatus]
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceStatus, _Mapping]]] = ...) -> None: ...
