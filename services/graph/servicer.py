"""``polyad.graph.v1.GraphService``: decode → backend → encode."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from grpc import aio

from polyad.graph.v1 import graph_pb2 as pb
from polyad.graph.v1 import graph_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError
from services.core.models import LoadedModel, ModelManager
from services.core.responses import decide_scores, decisions_proto, policy_from_proto
from services.core.servicing import ModelInfoMixin
from services.core.training import fit_options
from services.graph.codec import decode_graph, decode_labels, evidence_proto
from services.graph.config import GraphSettings
from services.graph.experiments import calibration_split

__all__ = ["GraphServicer"]


def _n_features(model: LoadedModel) -> int | None:
    shape = model.metadata.input_spec.shape
    return shape[1] if len(shape) == 2 and shape[1] > 0 else None


class GraphServicer(ModelInfoMixin, pb_grpc.GraphServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    model_info_response = pb.GetModelInfoResponse

    def __init__(self, models: ModelManager, settings: GraphSettings) -> None:
        self.models = models
        self.settings = settings

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
        rule, alpha, _ = policy_from_proto(request.policy)
        model = await self.models.get(request.model)
        batch = decode_graph(request.graph, self.settings, _n_features(model), self._explain_k(request))
        scores, evidence = await model.backend.score_and_explain(batch)
        p_values, decision = decide_scores(model.calibrator, scores, rule, alpha)
        nodes = batch.target_nodes
        by_node = dict(zip(nodes.tolist(), scores.tolist(), strict=True))
        response = pb.DetectResponse(
            graph_id=request.graph.id, nodes=from_numpy(nodes), scores=from_numpy(scores.astype(np.float32)),
            decisions=decisions_proto(p_values, decision), evidence=evidence_proto(evidence, by_node),
        )
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    async def Fit(self, request: pb.FitRequest, context: aio.ServicerContext) -> pb.FitResponse:
        overrides, fraction = fit_options(request.config_json, request.calibration_fraction)
        batch = decode_graph(request.graph, self.settings, None)
        labels = decode_labels(request.labels, batch.num_nodes, self.settings.max_request_bytes)
        labelled = labels[batch.target_nodes]
        if int((labelled > 0).sum()) < self.settings.min_fit_anomalies:
            raise InvalidInputError(
                f"{int((labelled > 0).sum())} labelled anomalies; Fit needs at least {self.settings.min_fit_anomalies}",
                "labels",
            )
        if int((labelled == 0).sum()) < 10:
            raise InvalidInputError("Fit needs at least 10 labelled normal nodes", "labels")
        train, calibration = calibration_split(replace(batch, y=labels), fraction, seed=0)
        model = await self.models.fit(request.detector, train, calibration, overrides)  # type: ignore[arg-type]
        return pb.FitResponse(model=model.info(self.settings.backend.kind))

