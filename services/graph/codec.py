"""Decoding ``graph.v1.Graph`` messages into :class:`GraphBatch` (tensor checks), and evidence into messages."""

from __future__ import annotations

import numpy as np

from polyad.common.v1 import common_pb2
from polyad.graph.v1 import graph_pb2 as pb
from services.core.codecs import to_numpy
from services.core.errors import InvalidInputError, LimitExceededError
from services.graph.batch import GraphBatch
from services.graph.config import GraphSettings
from services.graph.graph_text import parse_edge_list, parse_matrix
from services.graph.validation import validate_graph

__all__ = ["decode_graph", "decode_labels", "evidence_proto"]

FLOATS = (common_pb2.DATA_TYPE_FLOAT32, common_pb2.DATA_TYPE_FLOAT64, common_pb2.DATA_TYPE_FLOAT16)
INTEGERS = (common_pb2.DATA_TYPE_INT32, common_pb2.DATA_TYPE_INT64, common_pb2.DATA_TYPE_UINT8)
NUMERIC = FLOATS + INTEGERS


def _decode_tensors(message: pb.Graph, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Node features ``(N, F)``, edges ``(2, E)`` and optional edge times ``(E,)`` from the message's tensors."""
    if not message.node_features.ByteSize():
        raise InvalidInputError("graph.node_features is missing; expected a float (N, F) tensor "
                                "(or the edge_list and features_text files)", "graph.node_features")
    x = to_numpy(message.node_features, "graph.node_features", FLOATS, (2,), limit)
    if message.edge_index.ByteSize():
        edge_index = to_numpy(message.edge_index, "graph.edge_index", INTEGERS, (2,), limit)
    else:
        edge_index = np.zeros((2, 0), dtype=np.int64)
    edge_time = None
    if message.edge_time.ByteSize():
        edge_time = to_numpy(message.edge_time, "graph.edge_time", NUMERIC, (1,), limit).astype(np.float64)
    return x, edge_index, edge_time


def _parse_uploaded(message: pb.Graph, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The same arrays from uploaded ``edge_list`` and ``features_text`` files (parsed here, not in the gateway)."""
    if message.node_features.ByteSize() or message.edge_index.ByteSize():
        raise InvalidInputError("graph: send either the tensors or the edge_list + features_text files, not both",
                                "graph")
    if not message.features_text:
        raise InvalidInputError("graph.features_text is missing; expected one row of F values per node",
                                "graph.features_text")
    for name in ("edge_list", "features_text"):
        if len(getattr(message, name)) > limit:
            raise LimitExceededError(f"graph.{name} exceeds the limit of {limit} bytes", f"graph.{name}")
    edge_index, edge_time = parse_edge_list(message.edge_list, "edges")
    return parse_matrix(message.features_text, "features"), edge_index, edge_time


def decode_graph(message: pb.Graph, settings: GraphSettings, n_features: int | None, explain_top_k: int = 0,
                 time_window: float | None = None) -> GraphBatch:
    """A validated, normalised batch from a ``Graph`` (limits from ``settings``; ``n_features`` and ``time_window``
    of the model: timed edges older than the window become the history, see ``validation``)."""
    limit = settings.max_request_bytes
    if message.edge_list or message.features_text:
        x, edge_index, edge_time = _parse_uploaded(message, limit)
    else:
        x, edge_index, edge_time = _decode_tensors(message, limit)
    targets = None
    if message.target_nodes.ByteSize():
        targets = to_numpy(message.target_nodes, "graph.target_nodes", INTEGERS, (1,), limit).astype(np.int64)
    batch = GraphBatch(x=x, edge_index=edge_index, edge_time=edge_time, targets=targets,
                       explain_top_k=explain_top_k)
    return validate_graph(batch, n_features, settings.max_nodes, settings.max_edges, time_window)


def decode_labels(tensor: common_pb2.Tensor, n: int, limit: int) -> np.ndarray:
    """Labels ``(N,)`` int8 from an integer tensor (0 normal, > 0 anomaly type)."""
    if not tensor.ByteSize():
        raise InvalidInputError("labels are missing; Fit needs an integer (N,) tensor, 0 normal, > 0 anomalous",
                                "labels")
    labels = to_numpy(tensor, "labels", INTEGERS, (1,), limit)
    if labels.shape != (n,):
        raise InvalidInputError(f"labels has shape {list(labels.shape)}; expected one label per node ({n})", "labels")
    if labels.size and (labels.min() < 0 or labels.max() > 127):
        raise InvalidInputError("labels must be 0 (normal) or an anomaly type in 1..127", "labels")
    return labels.astype(np.int8)


def evidence_proto(evidence, scores_by_node: dict[int, float]) -> list[pb.NodeEvidence]:  # type: ignore[no-untyped-def]
    """``NodeEvidence`` messages from a detector's evidence (nodes, neighbours ``(k, m)``, influence ``(k, m)``)."""
    out = []
    for row, node in enumerate(evidence.nodes.tolist()):
        neighbours = [pb.Neighbor(node=int(v), influence=float(w))
                      for v, w in zip(evidence.neighbours[row], evidence.influence[row], strict=True) if v >= 0]
        out.append(pb.NodeEvidence(node=int(node), score=scores_by_node.get(int(node), 0.0), neighbors=neighbours))
    return out
