"""REST routes of the graph modality: JSON graphs and edge-list + feature-matrix uploads."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from gateway import schemas
from gateway.dataplane import DataPlane
from gateway.kserve_models import Adapter, TensorMeta
from gateway.routing import Router
from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2
from polyad.graph.v1 import graph_pb2
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError
from services.core.responses import RULES_BY_NAME

__all__ = ["ADAPTER", "GraphDetectIn", "GraphDetectOut", "add_routes", "graph_json"]


class GraphDetectIn(BaseModel):
    """One graph snapshot to score."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field("", description="Echoed in the answer.")
    node_features: list[list[float]] = Field(min_length=1, description="N rows of F feature values.",
                                             examples=[[[0.1, 1.0], [0.2, 0.9], [5.0, -3.0]]])
    edges: list[list[int]] = Field(default_factory=list, description="E pairs [source, target]; undirected.",
                                   examples=[[[0, 1], [1, 2]]])
    edge_time: list[float] | None = Field(None, description="Optional timestamp per edge.")
    target_nodes: list[int] | None = Field(None, description="Nodes to score; all when omitted.")
    explain_top_k: int = Field(10, ge=0, le=100, description="Highest-scored nodes explained (0 = none).")
    policy: schemas.PolicyIn = Field(default_factory=schemas.PolicyIn, description="How p-values become decisions.")
    model: schemas.ModelRef = Field(default_factory=schemas.ModelRef, description="Which model scores the graph.")


class NodeOut(BaseModel):
    """One scored node."""

    node: int
    score: float
    p_value: float
    anomalous: bool


class GraphDetectOut(BaseModel):
    """The graph service's answer: scores in target order, evidence for the top nodes."""

    service: str
    graph_id: str
    model: dict[str, str]
    rule: str
    p_value_threshold: float
    results: list[NodeOut]
    evidence: list[dict[str, Any]]


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["edges", "features"],
    "properties": {"edges": {"type": "string", "format": "binary", "description": "source target [time] per line"},
                   "features": {"type": "string", "format": "binary", "description": "one row of F values per node"}},
}}}}}


def _edges(pairs: list[list[int]]) -> np.ndarray:
    if any(len(pair) != 2 for pair in pairs):
        raise InvalidInputError("edges must be pairs [source, target]", "edges")
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T


def _features(rows: list[list[float]]) -> np.ndarray:
    if len({len(row) for row in rows}) != 1:
        raise InvalidInputError("node_features rows differ in length; expected N rows of F values", "node_features")
    return np.asarray(rows, dtype=np.float32)


def _request(graph: graph_pb2.Graph, rule: str, alpha: float, explain: int, detector: str, version: str
             ) -> graph_pb2.DetectRequest:
    return graph_pb2.DetectRequest(
        graph=graph, model=common_pb2.ModelRef(detector=detector, version=version),
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
        explain_top_k=explain, omit_evidence=explain == 0,
    )


def graph_json(response: gateway_pb2.DetectResponse) -> dict[str, Any]:
    """The JSON body of a graph answer."""
    answer = response.graph
    nodes, scores = to_numpy(answer.nodes), to_numpy(answer.scores)
    p_values, flags = to_numpy(answer.decisions.p_values), to_numpy(answer.decisions.anomalous)
    results = [{"node": int(n), "score": float(s), "p_value": float(p), "anomalous": bool(f)}
               for n, s, p, f in zip(nodes, scores, p_values, flags, strict=True)]
    evidence = [{"node": e.node, "score": e.score,
                 "neighbors": [{"node": v.node, "influence": v.influence} for v in e.neighbors]}
                for e in answer.evidence]
    return {"service": response.service, "graph_id": answer.graph_id,
            "model": {"detector": answer.model.detector, "version": answer.model.version},
            "rule": common_pb2.DecisionRule.Name(answer.decisions.rule),
            "p_value_threshold": answer.decisions.p_value_threshold, "results": results, "evidence": evidence}


async def _read_upload(request: Request) -> tuple[bytes, bytes, str]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInputError("expected multipart/form-data with an `edges` file and a `features` file")
    async with request.form(max_files=2, max_fields=8) as form:
        edges, features = form.get("edges"), form.get("features")
        if not isinstance(edges, UploadFile) or not isinstance(features, UploadFile):
            raise InvalidInputError("the form needs two files: `edges` (source target [time] per line) and "
                                    "`features` (one row of values per node)")
        return await edges.read(), await features.read(), edges.filename or "graph"


def add_routes(app: FastAPI, dataplane: DataPlane, router: Router) -> None:
    """Register ``POST /v1/graph/detect`` (JSON) and ``POST /v1/graph/detect/upload`` (edge list + features)."""

    @app.post("/v1/graph/detect", tags=["graph"], response_model=GraphDetectOut, responses=schemas.ERROR_RESPONSES,
              summary="Score the nodes of one graph given as JSON (features, edges, optional times and targets).")
    async def graph_detect(body: GraphDetectIn, timeout: Annotated[float | None, Query(gt=0)] = None) -> JSONResponse:
        route = router.get("graph")
        graph = graph_pb2.Graph(id=body.id, node_features=from_numpy(_features(body.node_features)),
                                edge_index=from_numpy(_edges(body.edges)))
        if body.edge_time is not None:
            graph.edge_time.CopyFrom(from_numpy(np.asarray(body.edge_time, dtype=np.float64)))
        if body.target_nodes is not None:
            graph.target_nodes.CopyFrom(from_numpy(np.asarray(body.target_nodes, dtype=np.int64)))
        message = _request(graph, body.policy.rule, body.policy.alpha, body.explain_top_k, body.model.detector,
                           body.model.version)
        return JSONResponse(graph_json(await dataplane.forward(route, message, timeout)))

    @app.post("/v1/graph/detect/upload", tags=["graph"], response_model=GraphDetectOut, openapi_extra=UPLOAD_BODY,
              responses=schemas.ERROR_RESPONSES,
              summary="Score a graph uploaded as an edge-list file and a feature-matrix file (multipart).")
    async def graph_detect_upload(
        request: Request,
        rule: Annotated[schemas.Rule, Query(description="Decision rule over the nodes.")] = "alpha",
        alpha: Annotated[float, Query(gt=0, lt=1, description="Level or FDR target.")] = 0.01,
        explain_top_k: Annotated[int, Query(ge=0, le=100, description="Nodes explained.")] = 10,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: Annotated[float | None, Query(gt=0, description="Deadline in seconds.")] = None,
    ) -> JSONResponse:
        route = router.get("graph")  # fail fast when not routed, before reading the upload
        edges_file, features_file, name = await _read_upload(request)
        graph = graph_pb2.Graph(id=name, edge_list=edges_file, features_text=features_file)  # parsed by the service
        message = _request(graph, rule, alpha, explain_top_k, detector, version)
        return JSONResponse(graph_json(await dataplane.forward(route, message, timeout)))


class GraphAdapter(Adapter):
    """One graph: node features ``(N, F)`` and edges ``(2, E)`` → per-node scores, p-values, flags ``(N,)``."""

    modality = "graph"

    def inputs(self, info: common_pb2.ModelInfo | None) -> tuple[TensorMeta, ...]:
        shape = list(info.input_shape) if info is not None else []
        width = shape[1] if len(shape) == 2 and shape[1] > 0 else -1
        return (TensorMeta("node_features", "FP32", (-1, width)), TensorMeta("edge_index", "INT64", (2, -1)))

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("nodes", "INT64", (-1,)), TensorMeta("scores", "FP32", (-1,)),
                TensorMeta("p_values", "FP64", (-1,)), TensorMeta("anomalous", "BOOL", (-1,)))

    def request(self, inputs, model, policy, wanted) -> graph_pb2.DetectRequest:  # type: ignore[no-untyped-def]
        graph = graph_pb2.Graph(id="graph", node_features=from_numpy(inputs["node_features"]),
                                edge_index=from_numpy(inputs["edge_index"]))
        return graph_pb2.DetectRequest(graph=graph, model=model, policy=policy, omit_evidence=True)

    def results(self, response: gateway_pb2.DetectResponse) -> tuple[common_pb2.ModelRef, dict[str, np.ndarray]]:
        answer = response.graph
        return answer.model, {
            "nodes": to_numpy(answer.nodes).astype(np.int64, copy=False),
            "scores": to_numpy(answer.scores),
            "p_values": to_numpy(answer.decisions.p_values),
            "anomalous": to_numpy(answer.decisions.anomalous),
        }


ADAPTER = GraphAdapter()
