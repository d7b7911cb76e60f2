"""``inference.GRPCInferenceService`` (Open Inference Protocol / KServe v2 over gRPC): a thin adapter.

Generated code: the server uses ``tritonclient.grpc.service_pb2`` / ``service_pb2_grpc`` rather than
a vendored copy of the v2 proto. Triton's ``grpc_service.proto`` is the v2 protocol plus Triton's
extensions, and tritonclient (pinned, built for our protobuf runtime) already registers the
``inference.*`` messages in the process-wide descriptor pool: a vendored ``inference`` package would
collide with it in any process that also imports tritonclient (our Triton backend, the tests, users'
clients), and would need its own buf exclusion since it does not follow our lint rules. Methods we do
not implement (repository load/unload, shared memory, statistics, tracing) answer UNIMPLEMENTED.

Errors raised by the data plane become status codes in ``services.core.server``'s interceptor, except
inside ``ModelStreamInfer``, where, as in Triton, a failed request answers ``error_message`` and the
stream goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc import aio
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from gateway.kserve_dataplane import InferRequest, InferResponse, KServeDataPlane
from gateway.kserve_models import tensor_from_bytes, tensor_from_list
from services.core.errors import InvalidInputError, PolyadError, public_message

__all__ = ["KSERVE_SERVICE_NAME", "KServeServicer", "decode_request", "encode_response"]

KSERVE_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name

_CONTENTS = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}


def _parameters(parameters: Any) -> dict[str, Any]:
    """``map<string, InferParameter>`` → plain values."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        kind = value.WhichOneof("parameter_choice")
        if kind is not None:
            out[key] = getattr(value, kind)
    return out


def decode_request(request: pb.ModelInferRequest) -> InferRequest:
    """A v2 request's tensors (raw contents or typed contents) as named arrays."""
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInputError(f"{len(raw)} raw_input_contents for {len(request.inputs)} inputs; expected one each")
    inputs = []
    for index, tensor in enumerate(request.inputs):
        if raw:
            array = tensor_from_bytes(tensor.name, tensor.datatype, tensor.shape, raw[index])
        else:
            contents = _CONTENTS.get(tensor.datatype)
            if contents is None:
                raise InvalidInputError(f"input {tensor.name!r}: {tensor.datatype} needs raw_input_contents",
                                        tensor.name)
            array = tensor_from_list(tensor.name, tensor.datatype, tensor.shape, getattr(tensor.contents, contents))
        inputs.append((tensor.name, tensor.datatype, array))
    outputs = [output.name for output in request.outputs] or None
    return InferRequest(inputs, outputs, _parameters(request.parameters), request.id)


def encode_response(answer: InferResponse) -> pb.ModelInferResponse:
    """Outputs as raw little-endian contents (what tritonclient reads fastest)."""
    response = pb.ModelInferResponse(model_name=answer.model_name, model_version=answer.model_version, id=answer.id)
    for meta, array in answer.outputs:
        response.outputs.add(name=meta.name, datatype=meta.datatype, shape=list(array.shape))
        response.raw_output_contents.append(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return response


class KServeServicer(pb_grpc.GRPCInferenceServiceServicer):
    """v2 request → :class:`KServeDataPlane` → v2 response, with the caller's remaining deadline."""

    def __init__(self, kserve: KServeDataPlane) -> None:
        self._kserve = kserve

    async def ServerLive(self, request: pb.ServerLiveRequest, context: aio.ServicerContext) -> pb.ServerLiveResponse:
        """The gateway process answers."""
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: aio.ServicerContext
    ) -> pb.ServerReadyResponse:
        """Every routed service is SERVING."""
        return pb.ServerReadyResponse(ready=await self._kserve.server_ready())

    async def ModelReady(self, request: pb.ModelReadyRequest, context: aio.ServicerContext) -> pb.ModelReadyResponse:
        """The model's service can load the version."""
        return pb.ModelReadyResponse(ready=await self._kserve.model_ready(request.name, request.version))

    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: aio.ServicerContext
    ) -> pb.ServerMetadataResponse:
        """Name, version and protocol extensions."""
        return pb.ServerMetadataResponse(**self._kserve.server_metadata())

    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: aio.ServicerContext
    ) -> pb.RepositoryIndexResponse:
        """Every model of the routed services with its state (Triton's model-repository extension, read only)."""
        index = await self._kserve.repository_index()
        if request.ready:
            index = [entry for entry in index if entry["state"] == "READY"]
        return pb.RepositoryIndexResponse(models=[pb.RepositoryIndexResponse.ModelIndex(**entry) for entry in index])

    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: aio.ServicerContext
    ) -> pb.ModelMetadataResponse:
        """The model's versions, platform and tensors."""
        meta = await self._kserve.model_metadata(request.name, request.version)
        tensors = {key: [pb.ModelMetadataResponse.TensorMetadata(**t) for t in meta[key]]
                   for key in ("inputs", "outputs")}
        return pb.ModelMetadataResponse(
            name=meta["name"], versions=meta["versions"], platform=meta["platform"], **tensors
        )

    async def ModelConfig(self, request: pb.ModelConfigRequest, context: aio.ServicerContext) -> pb.ModelConfigResponse:
        """Triton's model configuration of the model."""
        return pb.ModelConfigResponse(config=await self._kserve.model_config(request.name, request.version))

    async def ModelInfer(self, request: pb.ModelInferRequest, context: aio.ServicerContext) -> pb.ModelInferResponse:
        """Score the request's tensors with the model."""
        answer = await self._kserve.infer(
            request.model_name, request.model_version, decode_request(request), context.time_remaining()
        )
        return encode_response(answer)

    async def ModelStreamInfer(
        self, requests: AsyncIterator[pb.ModelInferRequest], context: aio.ServicerContext
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        """One response per request, in order; a failed request answers ``error_message``."""
        async for request in requests:
            try:
                answer = await self._kserve.infer(request.model_name, request.model_version, decode_request(request))
            except PolyadError as error:
                yield pb.ModelStreamInferResponse(error_message=public_message(error))
                continue
            yield pb.ModelStreamInferResponse(infer_response=encode_response(answer))

    def register(self, server: aio.Server) -> None:
        """Add this servicer to ``server`` (for ``build_server``'s ``register``)."""
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(self, server)
