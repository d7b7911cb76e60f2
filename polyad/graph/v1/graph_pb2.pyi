from polyad.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Graph(_message.Message):
    __slots__ = ("id", "node_features", "edge_index", "edge_time", "target_nodes", "edge_list", "features_text")
    ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    EDGE_INDEX_FIELD_NUMBER: _ClassVar[int]
    EDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    TARGET_NODES_FIELD_NUMBER: _ClassVar[int]
    EDGE_LIST_FIELD_NUMBER: _ClassVar[int]
    FEATURES_TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    node_features: _common_pb2.Tensor
    edge_index: _common_pb2.Tensor
    edge_time: _common_pb2.Tensor
    target_nodes: _common_pb2.Tensor
    edge_list: bytes
    features_text: bytes
    def __init__(self, id: _Optional[str] = ..., node_features: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., edge_index: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., edge_time: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., target_nodes: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., edge_list: _Optional[bytes] = ..., features_text: _Optional[bytes] = ...) -> None: ...

class DetectRequest(_message.Message):
    __slots__ = ("graph", "model", "policy", "explain_top_k", "omit_evidence")
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_TOP_K_FIELD_NUMBER: _ClassVar[int]
    OMIT_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    graph: Graph
    model: _common_pb2.ModelRef
    policy: _common_pb2.DecisionPolicy
    explain_top_k: int
    omit_evidence: bool
    def __init__(self, graph: _Optional[_Union[Graph, _Mapping]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., policy: _Optional[_Union[_common_pb2.DecisionPolicy, _Mapping]] = ..., explain_top_k: _Optional[int] = ..., omit_evidence: _Optional[bool] = ...) -> None: ...

class Neighbor(_message.Message):
    __slots__ = ("node", "influence")
    NODE_FIELD_NUMBER: _ClassVar[int]
    INFLUENCE_FIELD_NUMBER: _ClassVar[int]
    node: int
    influence: float
    def __init__(self, node: _Optional[int] = ..., influence: _Optional[float] = ...) -> None: ...

class NodeEvidence(_message.Message):
    __slots__ = ("node", "score", "neighbors")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    node: int
    score: float
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, node: _Optional[int] = ..., score: _Optional[float] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class DetectResponse(_message.Message):
    __slots__ = ("graph_id", "nodes", "scores", "decisions", "evidence", "model")
    GRAPH_ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    graph_id: str
    nodes: _common_pb2.Tensor
    scores: _common_pb2.Tensor
    decisions: _common_pb2.Decisions
    evidence: _containers.RepeatedCompositeFieldContainer[NodeEvidence]
    model: _common_pb2.ModelRef
    def __init__(self, graph_id: _Optional[str] = ..., nodes: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., scores: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., decisions: _Optional[_Union[_common_pb2.Decisions, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[NodeEvidence, _Mapping]]] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ...) -> None: ...

class FitRequest(_message.Message):
    __slots__ = ("graph", "labels", "detector", "config_json", "calibration_fraction")
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    DETECTOR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    graph: Graph
    labels: _common_pb2.Tensor
    detector: str
    config_json: str
    calibration_fraction: float
    def __init__(self, graph: _Optional[_Union[Graph, _Mapping]] = ..., labels: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., detector: _Optional[str] = ..., config_json: _Optional[str] = ..., calibration_fraction: _Optional[float] = ...) -> None: ...

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
