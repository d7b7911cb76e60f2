"""The toy modality at the gateway: no REST endpoints of its own (the generic one serves it), a KServe adapter."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from gateway.kserve_models import Adapter, TensorMeta
from services.core.codecs import from_numpy, to_numpy


def add_routes(app: Any, dataplane: Any, router: Any) -> None:
    """Nothing beyond the generic ``POST /v1/toy/detect``."""


class ToyAdapter(Adapter):
    modality = "toy"

    def inputs(self, info: Any) -> tuple[TensorMeta, ...]:
        return (TensorMeta("values", "FP32", (-1,)),)

    def outputs(self) -> tuple[TensorMeta, ...]:
        return (TensorMeta("scores", "FP32", (-1,)), TensorMeta("p_values", "FP64", (-1,)))

    def request(self, inputs: Any, model: Any, policy: Any, wanted: Any) -> Any:
        pb = importlib.import_module("toy.echo.v1.toy_pb2")
        return pb.DetectRequest(values=from_numpy(inputs["values"]), model=model, policy=policy)

    def results(self, response: Any) -> tuple[Any, dict[str, np.ndarray]]:
        answer = importlib.import_module("toy.echo.v1.toy_pb2").DetectResponse.FromString(response.other.value)
        return answer.model, {"scores": to_numpy(answer.scores), "p_values": to_numpy(answer.decisions.p_values)}


ADAPTER = ToyAdapter()
