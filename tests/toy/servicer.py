"""The toy servicer: decode → backend → encode; the base class owns Fit, GetModelInfo and decisions."""

from __future__ import annotations

import importlib
from typing import Any

from services.core.codecs import from_numpy, to_numpy
from services.core.servicing import DomainServicer
from services.core.settings import ServiceSettings
from services.core.training import chronological_split

pb = importlib.import_module("toy.echo.v1.toy_pb2")  # compiled by the test into a temporary folder
pb_grpc = importlib.import_module("toy.echo.v1.toy_pb2_grpc")


class ToySettings(ServiceSettings):
    """The toy service has no settings of its own."""


class ToyServicer(DomainServicer, pb_grpc.EchoServiceServicer):
    messages = pb

    async def Detect(self, request: Any, context: Any) -> Any:
        model = await self.models.get(request.model)
        scores = await model.backend.score(to_numpy(request.values, "values"))
        decided = self.decide(model, scores, request.policy)
        response = pb.DetectResponse(scores=from_numpy(scores), decisions=decided.proto())
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        return response

    def fit_data(self, request: Any, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        return chronological_split(to_numpy(request.values, "values"), fraction)
