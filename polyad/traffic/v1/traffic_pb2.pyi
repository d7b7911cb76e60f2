from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Snapshots(_message.Message):
    __slots__ = ("readings", "times", "missing")
    READINGS_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    readings: _common_pb2.Tensor
    times: _common_pb2.Tensor
    missing: _common_pb2.Tensor
    def __init__(self, readings: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., times: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., missing: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class Forecast(_message.Message):
    __slots__ = ("mean", "lower", "upper", "nominal_coverage", "coverage")
    MEAN_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    mean: _common_pb2.Tensor
    lower: _common_pb2.Tensor
    upper: _common_pb2.Tensor
    nominal_coverage: float
    coverage: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, mean: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., lower: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., upper: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., nominal_coverage: _Optional[float] = ..., coverage: _Optional[_Iterable[float]] = ...) -> None: ...

class FlaggedCell(_message.Message):
    __slots__ = ("time_index", "time", "sensor", "score", "p_value", "propagation")
    TIME_INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SENSOR_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    time_index: int
    time: float
    sensor: str
    score: float
    p_value: float
    propagation: float
    def __init__(self, time_index: _Optional[int] = ..., time: _Optional[float] = ..., sensor: _Optional[str] = ..., score: _Optional[float] = ..., p_value: _Optional[float] = ..., propagation: _Optional[float] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("snapshots", "context", "model", "policy", "coverage", "explain")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    snapshots: Snapshots
    context: _common_pb2.Tensor
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    coverage: float
    explain: bool
    def __init__(self, snapshots: _Optional[_Union[Snapshots, _Mapping]] = ..., context: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., coverage: _Optional[float] = ..., explain: _Optional[bool] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("scores", "decisions", "flagged", "forecast", "propagation", "model")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    flagged: _containers.RepeatedCompositeFieldContainer[FlaggedCell]
    forecast: Forecast
    propagation: _common_pb2.Tensor
    model: _common_pb2.ModelRef
    def __init__(self, scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., flagged: _Optional[_Iterable[_Union[FlaggedCell, _Mapping]]] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., propagation: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class StreamDetectRequest(_message.Message):
    __slots__ = ("stream_id", "snapshots", "model", "policy", "coverage", "adapt", "close")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    ADAPT_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    snapshots: Snapshots
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    coverage: float
    adapt: bool
    close: bool
    def __init__(self, stream_id: _Optional[str] = ..., snapshots: _Optional[_Union[Snapshots, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., coverage: _Optional[float] = ..., adapt: _Optional[bool] = ..., close: _Optional[bool] = ...) -> None: ...

class StreamDetectResponse(_message.Message):
    __slots__ = ("stream_id", "offset", "scores", "decisions", "flagged", "forecast", "propagation", "error")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    offset: int
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    flagged: _containers.RepeatedCompositeFieldContainer[FlaggedCell]
    forecast: Forecast
    propagation: _common_pb2.Tensor
    error: _common_pb2.ErrorDetail
    def __init__(self, stream_id: _Optional[str] = ..., offset: _Optional[int] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., flagged: _Optional[_Iterable[_Union[FlaggedCell, _Mapping]]] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., propagation: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.ErrorDetail, _Mapping]] = ...) -> None: ...

class IntersectionState(_message.Message):
    __slots__ = ("id", "phase", "min_green_elapsed", "density", "queue")
    ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MIN_GREEN_ELAPSED_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    phase: int
    min_green_elapsed: bool
    density: _containers.RepeatedScalarFieldContainer[float]
    queue: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, id: _Optional[str] = ..., phase: _Optional[int] = ..., min_green_elapsed: _Optional[bool] = ..., density: _Optional[_Iterable[float]] = ..., queue: _Optional[_Iterable[float]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("intersections", "model")
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    intersections: _containers.RepeatedCompositeFieldContainer[IntersectionState]
    model: _common_pb2.ModelRef
    def __init__(self, intersections: _Optional[_Iterable[_Union[IntersectionState, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("id", "phase", "preferred_phase", "safe", "projected", "lyapunov", "predicted_lyapunov", "bound", "q_values")
    ID_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_PHASE_FIELD_NUMBER: _ClassVar[int]
    SAFE_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_FIELD_NUMBER: _ClassVar[int]
    LYAPUNOV_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_LYAPUNOV_FIELD_NUMBER: _ClassVar[int]
    BOUND_FIELD_NUMBER: _ClassVar[int]
    Q_VALUES_FIELD_NUMBER: _ClassVar[int]
    id: str
    phase: int
    preferred_phase: int
    safe: bool
    projected: bool
    lyapunov: float
    predicted_lyapunov: float
    bound: float
    q_values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, id: _Optional[str] = ..., phase: _Optional[int] = ..., preferred_phase: _Optional[int] = ..., safe: _Optional[bool] = ..., projected: _Optional[bool] = ..., lyapunov: _Optional[float] = ..., predicted_lyapunov: _Optional[float] = ..., bound: _Optional[float] = ..., q_values: _Optional[_Iterable[float]] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("recommendations", "model")
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    model: _common_pb2.ModelRef
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class Graph(_message.Message):
    __slots__ = ("sensors", "features", "adjacency")
    SENSORS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ADJACENCY_FIELD_NUMBER: _ClassVar[int]
    sensors: _containers.RepeatedScalarFieldContainer[str]
    features: _containers.RepeatedScalarFieldContainer[str]
    adjacency: _common_pb2.Tensor
    def __init__(self, sensors: _Optional[_Iterable[str]] = ..., features: _Optional[_Iterable[str]] = ..., adjacency: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("snapshots", "graph", "detector", "config_json", "calibration_fraction")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    snapshots: Snapshots
    graph: Graph
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, snapshots: _Optional[_Union[Snapshots, _Mapping]] = ..., graph: _Optional[_Union[Graph, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

class FitResponse(_message.Message):
    __slots__ = ("model", "graph")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    graph: Graph
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., graph: _Optional[_Union[Graph, _Mapping]] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelRef
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("model", "graph", "intersections")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    graph: Graph
    intersections: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., graph: _Optional[_Union[Graph, _Mapping]] = ..., intersections: _Optional[_Iterable[str]] = ...) -> None: ...
