"""KServe v2 wire translation without servers: tensors, REST bodies (JSON and binary), gRPC messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.http as thttp
from tritonclient.grpc import service_pb2 as pb
from tritonclient.http import InferResult

from gateway.kserve_dataplane import InferResponse, check_inputs
from gateway.kserve_grpc import decode_request, encode_response
from gateway.kserve_models import (
    TensorMeta,
    adapters,
    policy_from_parameters,
    tensor_from_bytes,
    tensor_from_list,
)
from gateway.kserve_rest import HEADER_LENGTH, decode_infer_body, encode_infer_body
from polyad.common.v1 import common_pb2
from services.core.errors import InvalidInputError

SERIES = np.arange(12, dtype=np.float32).reshape(6, 2)


def test_tensors_from_bytes_and_lists_check_sizes() -> None:
    assert np.array_equal(tensor_from_bytes("x", "FP32", [6, 2], SERIES.tobytes()), SERIES)
    assert np.array_equal(tensor_from_list("x", "FP32", [6, 2], SERIES.tolist()), SERIES)  # nested
    assert tensor_from_list("x", "BOOL", [2], [True, False]).dtype == np.bool_
    with pytest.raises(InvalidInputError, match="needs 48 bytes, got 47"):
        tensor_from_bytes("x", "FP32", [6, 2], SERIES.tobytes()[:-1])
    with pytest.raises(InvalidInputError, match="datatype 'FP8' is not supported"):
        tensor_from_list("x", "FP8", [1], [1.0])
    with pytest.raises(InvalidInputError, match="negative size"):
        tensor_from_list("x", "FP32", [-1, 2], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="not a list of FP32"):
        tensor_from_list("x", "FP32", [1], ["nope"])


def test_rest_body_as_tritonclient_sends_it() -> None:
    tensor = thttp.InferInput("series", [6, 2], "FP32")
    tensor.set_data_from_numpy(SERIES, binary_data=True)
    body, header_length = thttp.InferenceServerClient.generate_request_body(
        [tensor], outputs=[thttp.InferRequestedOutput("scores", binary_data=True)], parameters={"rule": "bh"})
    request, binary = decode_infer_body(body, str(header_length))
    (name, datatype, array), = request.inputs
    assert (name, datatype) == ("series", "FP32") and np.array_equal(array, SERIES)
    assert request.outputs == ["scores"] and binary == {"scores"} and request.parameters["rule"] == "bh"


@pytest.mark.parametrize("binary", [{"*"}, set()], ids=["binary", "json"])
def test_rest_response_reads_back_with_tritonclient(binary: set[str]) -> None:
    scores, flags = np.array([0.5, 2.0], np.float32), np.array([False, True])
    answer = InferResponse("m", "v1", "7", [(TensorMeta("scores", "FP32", (-1,)), scores),
                                            (TensorMeta("anomalous", "BOOL", (-1,)), flags)])
    response = encode_infer_body(answer, binary)
    length = response.headers.get(HEADER_LENGTH)
    result = InferResult.from_response_body(response.body, header_length=int(length) if length else None)
    assert np.array_equal(result.as_numpy("scores"), scores) and np.array_equal(result.as_numpy("anomalous"), flags)
    assert result.get_response()["model_version"] == "v1"


def test_rest_body_errors_name_the_problem() -> None:
    head = json.dumps({"inputs": [{"name": "s", "datatype": "FP32", "shape": [2],
                                   "parameters": {"binary_data_size": 16}}]}).encode()
    with pytest.raises(InvalidInputError, match="exceeds the binary data"):
        decode_infer_body(head + b"\0" * 8, str(len(head)))
    with pytest.raises(InvalidInputError, match="non-empty list"):
        decode_infer_body(b'{"inputs": []}', None)
    with pytest.raises(InvalidInputError, match="neither 'data' nor"):
        decode_infer_body(b'{"inputs": [{"name": "s", "datatype": "FP32", "shape": [1]}]}', None)


def test_grpc_request_raw_and_typed_contents() -> None:
    raw = pb.ModelInferRequest(model_name="m", id="1")
    raw.inputs.add(name="series", datatype="FP32", shape=[6, 2])
    raw.raw_input_contents.append(SERIES.tobytes())
    raw.parameters["alpha"].double_param = 0.05
    typed = pb.ModelInferRequest(model_name="m")
    typed.inputs.add(name="series", datatype="FP32", shape=[6, 2]).contents.fp32_contents.extend(SERIES.ravel())
    for message in (raw, typed):
        request = decode_request(message)
        assert np.array_equal(request.inputs[0][2], SERIES) and request.outputs is None
    assert decode_request(raw).parameters == {"alpha": 0.05} and decode_request(raw).id == "1"
    response = encode_response(InferResponse("m", "v", "1", [(TensorMeta("scores", "FP32", (-1,)), SERIES[:, 0])]))
    assert np.frombuffer(response.raw_output_contents[0], np.float32).tolist() == SERIES[:, 0].tolist()


def test_inputs_checked_against_the_model() -> None:
    declared = adapters()["timeseries"].inputs(common_pb2.ModelInfo(input_shape=[-1, 2]))
    assert declared == (TensorMeta("series", "FP32", (-1, 2)),)
    assert check_inputs(declared, [("series", "FP32", SERIES)])["series"] is SERIES
    for given, words in [
        ([("series", "FP32", SERIES[:, :1])], "does not match the model's \\[-1, 2\\]"),
        ([("series", "FP64", SERIES)], "datatype FP64"),
        ([], "missing input 'series'"),
        ([("series", "FP32", SERIES)] * 2, "more than once"),
    ]:
        with pytest.raises(InvalidInputError, match=words):
            check_inputs(declared, given)


def test_policy_parameters() -> None:
    policy = policy_from_parameters({"rule": "by", "alpha": 0.1})
    assert policy.rule == common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI and policy.alpha == 0.1
    with pytest.raises(InvalidInputError, match="parameter 'rule'"):
        policy_from_parameters({"rule": "fdr"})


def test_bytes_tensors_use_the_v2_length_prefixed_layout() -> None:
    raw = b"".join(len(item).to_bytes(4, "little") + item for item in (b"a\nb", b"", b"\xffz"))
    decoded = tensor_from_bytes("sessions", "BYTES", [3], raw)
    assert decoded.dtype == object and list(decoded) == [b"a\nb", b"", b"\xffz"]
    assert list(tensor_from_list("sessions", "BYTES", [2], ["x", b"y"])) == [b"x", b"y"]
    with pytest.raises(InvalidInputError, match="runs past"):
        tensor_from_bytes("sessions", "BYTES", [1], raw[:6])
    with pytest.raises(InvalidInputError, match="4-byte length"):
        tensor_from_bytes("sessions", "BYTES", [2], raw[:7] + b"\x01")
    with pytest.raises(InvalidInputError, match="needs 2 strings, got 3"):
        tensor_from_bytes("sessions", "BYTES", [2], raw)
    with pytest.raises(InvalidInputError, match="must be strings"):
        tensor_from_list("sessions", "BYTES", [1], [3])
