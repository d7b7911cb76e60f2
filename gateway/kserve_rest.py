"""The KServe v2 REST endpoints (``/v2/...``): a thin FastAPI adapter over :class:`KServeDataPlane`.

Speaks the binary tensor data extension that ``tritonclient.http`` uses by default: a request or
response body is the JSON header (``Inference-Header-Content-Length`` bytes) followed by the raw
tensors each JSON tensor announces with ``parameters.binary_data_size``. Errors use KServe's shape,
``{"error": "..."}``, with the HTTP status of the error's class (``services.core.errors``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from google.protobuf import json_format

from gateway.kserve_dataplane import InferRequest, InferResponse, KServeDataPlane
from gateway.kserve_models import tensor_from_bytes, tensor_from_list
from services.core.errors import InvalidInputError, PolyadError, http_status_for, public_message

__all__ = ["HEADER_LENGTH", "add_kserve_routes", "decode_infer_body", "encode_infer_body"]

log = logging.getLogger(__name__)

HEADER_LENGTH = "Inference-Header-Content-Length"
INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "KServe v2 inference request.",
                                             "example": {"inputs": [{"name": "series", "datatype": "FP32",
                                                                     "shape": [3, 1], "data": [0.1, 0.2, 9.0]}]}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary", "description": (
                f"JSON header ({HEADER_LENGTH} bytes) followed by the tensors' raw bytes.")}},
        },
    }
}


class _KServeRoute(APIRoute):
    """Routes whose errors answer ``{"error": message}`` (KServe v2), not the gateway's error object."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # mapped to a status here; logged when unexpected
                if not isinstance(error, PolyadError) or http_status_for(error) >= 500:
                    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
                return JSONResponse({"error": public_message(error)}, status_code=http_status_for(error))

        return answer


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where} must be a JSON object")
    return value


def decode_infer_body(body: bytes, header_length: str | None) -> tuple[InferRequest, set[str]]:
    """An inference request from a JSON body (or JSON header + binary tensors), and the outputs wanted
    as binary data ("*" = all)."""
    split = len(body)
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise InvalidInputError(f"{HEADER_LENGTH} {header_length!r} does not fit a body of {len(body)} bytes")
        split = int(header_length)
    try:
        head = _object(json.loads(body[:split]), "the request body")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"malformed JSON in the inference request ({error})") from None
    raw, offset, inputs = body[split:], 0, []
    given = head.get("inputs")
    if not isinstance(given, list) or not given:
        raise InvalidInputError("'inputs' must be a non-empty list of tensors")
    for index, item in enumerate(given):
        tensor = _object(item, f"inputs[{index}]")
        name, datatype, shape = tensor.get("name"), tensor.get("datatype"), tensor.get("shape")
        if not isinstance(name, str) or not isinstance(datatype, str) or not isinstance(shape, list):
            raise InvalidInputError(f"inputs[{index}] needs 'name', 'datatype' and 'shape'")
        size = _object(tensor.get("parameters", {}), f"inputs[{index}].parameters").get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(raw):
                raise InvalidInputError(f"input {name!r}: binary_data_size {size!r} exceeds the binary data", name)
            array = tensor_from_bytes(name, datatype, shape, raw[offset : offset + size])
            offset += size
        elif "data" in tensor:
            array = tensor_from_list(name, datatype, shape, tensor["data"])
        else:
            raise InvalidInputError(f"input {name!r} has neither 'data' nor parameters.binary_data_size", name)
        inputs.append((name, datatype, array))
    parameters = _object(head.get("parameters", {}), "parameters")
    outputs, binary = None, set()
    if "outputs" in head:
        requested = [_object(o, "outputs[]") for o in head["outputs"]] if isinstance(head["outputs"], list) else []
        outputs = [str(o.get("name")) for o in requested]
        binary = {str(o.get("name")) for o in requested if _object(o.get("parameters", {}), "outputs[].parameters")
                  .get("binary_data")}
    if parameters.get("binary_data_output"):
        binary = {"*"}
    return InferRequest(inputs, outputs, parameters, str(head.get("id", ""))), binary


def encode_infer_body(answer: InferResponse, binary: set[str]) -> Response:
    """The inference response: JSON, with the outputs named in ``binary`` ("*" = all) as raw bytes."""
    outputs, chunks = [], []
    for meta, array in answer.outputs:
        item: dict[str, Any] = {"name": meta.name, "datatype": meta.datatype, "shape": list(array.shape)}
        if "*" in binary or meta.name in binary:
            data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            item["parameters"] = {"binary_data_size": len(data)}
            chunks.append(data)
        else:
            item["data"] = array.reshape(-1).tolist()
        outputs.append(item)
    head = json.dumps({"model_name": answer.model_name, "model_version": answer.model_version, "id": answer.id,
                       "outputs": outputs}, separators=(",", ":")).encode()
    if not chunks:
        return Response(head, media_type="application/json")
    return Response(b"".join([head, *chunks]), media_type="application/octet-stream",
                    headers={HEADER_LENGTH: str(len(head))})


def _timeout(parameters: dict[str, Any]) -> float | None:
    """Triton's ``timeout`` request parameter (microseconds) in seconds."""
    value = parameters.get("timeout")
    return float(value) / 1e6 if isinstance(value, int | float) and value > 0 else None


def add_kserve_routes(app: FastAPI, kserve: KServeDataPlane) -> None:
    """Register the ``/v2`` health, metadata, configuration and inference endpoints."""
    router = APIRouter(prefix="/v2", tags=["kserve-v2"], route_class=_KServeRoute)

    @router.get("", summary="Server metadata: name, version, protocol extensions.")
    async def server_metadata() -> JSONResponse:
        return JSONResponse(kserve.server_metadata())

    @router.get("/health/live", summary="200 while the gateway process answers.")
    async def live() -> JSONResponse:
        return JSONResponse({"live": True})

    @router.get("/health/ready", summary="200 when every routed service is SERVING, else 400.")
    async def ready() -> JSONResponse:
        ok = await kserve.server_ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 400)

    @router.post("/repository/index", summary="Every model of the routed services with its state (Triton extension).")
    async def repository_index() -> JSONResponse:
        return JSONResponse(await kserve.repository_index())

    async def model_metadata(name: str, version: str = "") -> JSONResponse:
        return JSONResponse(await kserve.model_metadata(name, version))

    async def model_ready(name: str, version: str = "") -> JSONResponse:
        ok = await kserve.model_ready(name, version)
        return JSONResponse({"name": name, "ready": ok}, status_code=200 if ok else 400)

    async def model_config(name: str, version: str = "") -> JSONResponse:
        config = await kserve.model_config(name, version)
        return JSONResponse(json_format.MessageToDict(config, preserving_proto_field_name=True))

    async def infer(name: str, request: Request, version: str = "") -> Response:
        decoded, binary = decode_infer_body(await request.body(), request.headers.get(HEADER_LENGTH))
        answer = await kserve.infer(name, version, decoded, _timeout(decoded.parameters))
        return encode_infer_body(answer, binary)

    for base in ("/models/{name}", "/models/{name}/versions/{version}"):
        router.add_api_route(base, model_metadata, methods=["GET"], summary="Model metadata: versions, tensors.")
        router.add_api_route(f"{base}/ready", model_ready, methods=["GET"], summary="200 when the model can serve.")
        router.add_api_route(f"{base}/config", model_config, methods=["GET"], summary="Triton model configuration.")
        router.add_api_route(f"{base}/infer", infer, methods=["POST"], summary="Inference (JSON or binary tensors).",
                             openapi_extra=INFER_BODY)
    app.include_router(router)
