"""``polyad.graph.v1.GraphService``: decode → backend → encode."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from grpc import aio

from polyad.graph.v1 import graph_pb2 as pb
from polyad.graph.v1 import graph_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError
from services.core.models import LoadedModel
from services.core.servicing import DomainServicer
from services.graph.batch import GraphBatch
from services.graph.codec import decode_graph, decode_labels, evidence_proto
from services.graph.config import GraphSettings
from services.graph.experiments import calibration_split
from services.graph.neighbour_groups import neighbour_groups

__all__ = ["GraphServicer"]


def _n_features(model: LoadedModel) -> int | None:
    shape = model.metadata.input_spec.shape
    return shape[1] if len(shape) == 2 and shape[1] > 0 else None


class GraphServicer(DomainServicer, pb_grpc.GraphServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: GraphSettings

    def _explain_k(self, request: pb.DetectRequest) -> int:
        if request.omit_evidence:
            return 0
        k = request.explain_top_k or self.settings.default_explain_top_k
        if k > self.settings.max_explain_top_k:
            raise InvalidInputError(
                f"explain_top_k is {k}; the limit is {self.settings.max_explain_top_k}", "explain_top_k"
            )
        return k

    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        model = await self.models.get(request.model)
        batch = decode_graph(request.graph, self.settings, _n_features(model), self._explain_k(request),
                             model.metadata.config.get("time_window"))
        scores, evidence = await model.backend.score_and_explain(batch)
        alpha = float(model.metadata.config.get("neighbour_group_alpha") or 0.0)
        if model.calibrator.grouped and alpha > 0:
            groups = await self._neighbour_groups(model, batch, scores, alpha)
            decided = self.decide_p_values(model.calibrator.group_p_values(scores, groups), request.policy)
        else:
            decided = self.decide(model, scores, request.policy)
        nodes = batch.target_nodes
        by_node = dict(zip(nodes.tolist(), scores.tolist(), strict=True))
        response = pb.DetectResponse(
            graph_id=request.graph.id, nodes=from_numpy(nodes), scores=from_numpy(scores.astype(np.float32)),
            decisions=decided.proto(), evidence=evidence_proto(evidence, by_node),
        )
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    @staticmethod
    async def _neighbour_groups(model: LoadedModel, batch: GraphBatch, scores: np.ndarray, alpha: float
                                ) -> np.ndarray:
        """Mondrian groups ``(K,)`` of the targets; neighbours that are not targets are scored in one more pass."""
        targets = batch.target_nodes
        is_target = np.zeros(batch.num_nodes, dtype=bool)
        is_target[targets] = True
        src, dst = batch.edge_index
        neighbours = np.union1d(dst[is_target[src]], src[is_target[dst]])
        missing = neighbours[~is_target[neighbours]]
        everyone = np.full(batch.num_nodes, np.nan)
        everyone[targets] = scores
        if missing.size:
            everyone[missing] = await model.backend.score(replace(batch, targets=missing, explain_top_k=0))
        return neighbour_groups(batch.edge_index, everyone, model.calibrator, alpha)[targets]

    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        window = overrides.get("time_window")  # the detector's config check names a bad value
        valid = isinstance(window, int | float) and window > 0
        batch = decode_graph(request.graph, self.settings, None, 0, window if valid else None)
        labels = decode_labels(request.labels, batch.num_nodes, self.settings.max_request_bytes)
        labelled = labels[batch.target_nodes]
        if int((labelled > 0).sum()) < self.settings.min_fit_anomalies:
            raise InvalidInputError(
                f"{int((labelled > 0).sum())} labelled anomalies; Fit needs at least {self.settings.min_fit_anomalies}",
                "labels",
            )
        if int((labelled == 0).sum()) < 10:
            raise InvalidInputError("Fit needs at least 10 labelled normal nodes", "labels")
        return calibration_split(replace(batch, y=labels), fraction, seed=0)

