from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CloseReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOSE_REASON_UNSPECIFIED: _ClassVar[CloseReason]
    CLOSE_REASON_REQUESTED: _ClassVar[CloseReason]
    CLOSE_REASON_WINDOW: _ClassVar[CloseReason]
    CLOSE_REASON_EVICTED: _ClassVar[CloseReason]
    CLOSE_REASON_END_OF_STREAM: _ClassVar[CloseReason]
CLOSE_REASON_UNSPECIFIED: CloseReason
CLOSE_REASON_REQUESTED: CloseReason
CLOSE_REASON_WINDOW: CloseReason
CLOSE_REASON_EVICTED: CloseReason
CLOSE_REASON_END_OF_STREAM: CloseReason

class Session(_message.Message):
    __slots__ = ("id", "lines")
    ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    id: str
    lines: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, id: _Optional[str] = ..., lines: _Optional[_Iterable[bytes]] = ...) -> None: ...

class LogFile(_message.Message):
    __slots__ = ("name", "content", "session_pattern", "window_lines")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_PATTERN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_LINES_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: bytes
    session_pattern: str
    window_lines: int
    def __init__(self, name: _Optional[str] = ..., content: _Optional[bytes] = ..., session_pattern: _Optional[str] = ..., window_lines: _Optional[int] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("sessions", "file", "model", "policy", "top_lines", "include_line_scores")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    TOP_LINES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LINE_SCORES_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    file: LogFile
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    top_lines: int
    include_line_scores: bool
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., file: _Optional[_Union[LogFile, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., top_lines: _Optional[int] = ..., include_line_scores: _Optional[bool] = ...) -> None: ...

class ScoredLine(_message.Message):
    __slots__ = ("index", "text", "score")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    score: float
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class SessionResult(_message.Message):
    __slots__ = ("id", "score", "p_value", "anomalous", "line_count", "top_lines", "line_scores")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    ANOMALOUS_FIELD_NUMBER: _ClassVar[int]
    LINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOP_LINES_FIELD_NUMBER: _ClassVar[int]
    LINE_SCORES_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    p_value: float
    anomalous: bool
    line_count: int
    top_lines: _containers.RepeatedCompositeFieldContainer[ScoredLine]
    line_scores: _common_pb2.Tensor
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., p_value: _Optional[float] = ..., anomalous: _Optional[bool] = ..., line_count: _Optional[int] = ..., top_lines: _Optional[_Iterable[_Union[ScoredLine, _Mapping]]] = ..., line_scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class InputReport(_message.Message):
    __slots__ = ("skipped_empty_lines", "truncated_lines")
    SKIPPED_EMPTY_LINES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_LINES_FIELD_NUMBER: _ClassVar[int]
    skipped_empty_lines: int
    truncated_lines: int
    def __init__(self, skipped_empty_lines: _Optional[int] = ..., truncated_lines: _Optional[int] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("results", "model", "rule", "alpha", "p_value_threshold", "input")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SessionResult]
    model: _common_pb2.ModelRef
    rule: _common_pb2.DecisionRule
    alpha: float
    p_value_threshold: float
    input: InputReport
    def __init__(self, results: _Optional[_Iterable[_Union[SessionResult, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., rule: _Optional[_Union[_common_pb2.DecisionRule, str]] = ..., alpha: _Optional[float] = ..., p_value_threshold: _Optional[float] = ..., input: _Optional[_Union[InputReport, _Mapping]] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("text", "session_key")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_KEY_FIELD_NUMBER: _ClassVar[int]
    text: bytes
    session_key: str
    def __init__(self, text: _Optional[bytes] = ..., session_key: _Optional[str] = ...) -> None: ...

class StreamDetectRequest(_message.Message):
    __slots__ = ("lines", "close_sessions", "model", "policy", "session_pattern", "window_lines")
    LINES_FIELD_NUMBER: _ClassVar[int]
    CLOSE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    SESSION_PATTERN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[LogLine]
    close_sessions: _containers.RepeatedScalarFieldContainer[str]
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    session_pattern: str
    window_lines: int
    def __init__(self, lines: _Optional[_Iterable[_Union[LogLine, _Mapping]]] = ..., close_sessions: _Optional[_Iterable[str]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., session_pattern: _Optional[str] = ..., window_lines: _Optional[int] = ...) -> None: ...

class LineResult(_message.Message):
    __slots__ = ("session_key", "index", "score")
    SESSION_KEY_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    session_key: str
    index: int
    score: float
    def __init__(self, session_key: _Optional[str] = ..., index: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...

class StreamSessionResult(_message.Message):
    __slots__ = ("result", "reason")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    result: SessionResult
    reason: CloseReason
    def __init__(self, result: _Optional[_Union[SessionResult, _Mapping]] = ..., reason: _Optional[_Union[CloseReason, str]] = ...) -> None: ...

class StreamDetectResponse(_message.Message):
    __slots__ = ("lines", "sessions", "input")
    LINES_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[LineResult]
    sessions: _containers.RepeatedCompositeFieldContainer[StreamSessionResult]
    input: InputReport
    def __init__(self, lines: _Optional[_Iterable[_Union[LineResult, _Mapping]]] = ..., sessions: _Optional[_Iterable[_Union[StreamSessionResult, _Mapping]]] = ..., input: _Optional[_Union[InputReport, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("sessions", "file", "detector", "config_json", "calibration_fraction")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    file: LogFile
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., file: _Optional[_Union[LogFile, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

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
