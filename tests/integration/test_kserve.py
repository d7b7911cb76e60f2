"""KServe v2 on the gateway, called with the stock tritonclient (gRPC and HTTP) over real loopback.

The real time-series and vision services run behind the gateway; every v2 answer is compared with the
native Detect answer for the same input (scores must be identical, not merely close).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.utils import InferenceServerException

from polyad.timeseries.v1 import timeseries_pb2 as ts_pb
from polyad.timeseries.v1 import timeseries_pb2_grpc as ts_grpc
from polyad.vision.v1 import vision_pb2 as vis_pb
from polyad.vision.v1 import vision_pb2_grpc as vis_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from tests.support.loop import LoopThread
from tests.support.services import start_gateway, start_timeseries

SERIES = "timeseries-comet"
IMAGES = "vision-multi_ad"


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, model_store: Path, vision_store: Path) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.vision.config import VisionSettings

    series = start_timeseries(loop_thread, model_store)
    vision = loop_thread.run(start("vision", VisionSettings(address="127.0.0.1:0", store_root=str(vision_store),
                                                  backend=BackendSettings(), image_size=64)))
    gateway = start_gateway(loop_thread, {"timeseries": f"127.0.0.1:{series.port}",
                                          "vision": f"127.0.0.1:{vision.port}"})
    grpc_url, http_url = f"127.0.0.1:{gateway.grpc_port}", f"127.0.0.1:{gateway.http_port}"
    with grpc.insecure_channel(f"127.0.0.1:{series.port}") as ts_chan, \
            grpc.insecure_channel(f"127.0.0.1:{vision.port}") as vis_chan:
        clients = SimpleNamespace(
            grpc=tgrpc.InferenceServerClient(grpc_url), http=thttp.InferenceServerClient(http_url),
            grpc_url=grpc_url, http_url=f"http://{http_url}", series=ts_grpc.TimeSeriesServiceStub(ts_chan),
            vision=vis_grpc.VisionServiceStub(vis_chan),
        )
        yield clients
        clients.grpc.close()
        clients.http.close()
    loop_thread.run(gateway.stop())
    loop_thread.run(vision.stop())
    loop_thread.run(series.stop())


@pytest.fixture(scope="module")
def series(normal_series: np.ndarray) -> np.ndarray:
    """A (400, 2) float32 series with a spike."""
    values = normal_series[:400].copy()
    values[200:205] += 5.0
    return values


def native_series(stack: SimpleNamespace, values: np.ndarray) -> ts_pb.SeriesResult:
    request = ts_pb.DetectRequest(series=[ts_pb.Series(values=from_numpy(values))])
    return stack.series.Detect(request, timeout=30).results[0]


def grpc_input(name: str, array: np.ndarray, datatype: str) -> tgrpc.InferInput:
    tensor = tgrpc.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def http_input(name: str, array: np.ndarray, datatype: str, binary: bool = True) -> thttp.InferInput:
    tensor = thttp.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def test_grpc_health_and_metadata(stack: SimpleNamespace) -> None:
    client = stack.grpc
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(SERIES) and client.is_model_ready(IMAGES)
    server = client.get_server_metadata()
    assert server.name == "polyad-gateway" and "binary_tensor_data" in server.extensions
    meta = client.get_model_metadata(SERIES)
    assert meta.name == SERIES and meta.platform == "polyad_inline" and meta.versions[0]
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [("series", "FP32", [-1, 2])]
    assert [t.name for t in meta.outputs] == ["scores", "p_values", "anomalous"]
    vision = client.get_model_metadata(IMAGES, as_json=True)
    assert vision["inputs"] == [{"name": "images", "datatype": "UINT8", "shape": ["-1", "-1", "-1", "3"]}]
    assert "anomaly_map" in [t["name"] for t in vision["outputs"]]
    config = client.get_model_config(SERIES).config
    assert config.name == SERIES and config.input[0].name == "series" and list(config.input[0].dims) == [-1, 2]
    assert not client.is_model_ready(SERIES, model_version="no-such-version")


def test_grpc_infer_equals_native_detect(stack: SimpleNamespace, series: np.ndarray) -> None:
    result = stack.grpc.infer(SERIES, [grpc_input("series", series, "FP32")], parameters={"rule": "bh", "alpha": 0.05})
    native = native_series(stack, series)
    assert np.array_equal(result.as_numpy("scores"), to_numpy(native.scores))
    assert result.as_numpy("scores").dtype == np.float32 and result.as_numpy("scores").shape == (400,)
    assert result.get_response().model_version == stack.grpc.get_model_metadata(SERIES).versions[0]
    alpha = stack.grpc.infer(SERIES, [grpc_input("series", series, "FP32")],
                             outputs=[tgrpc.InferRequestedOutput("p_values"), tgrpc.InferRequestedOutput("anomalous")])
    assert alpha.as_numpy("scores") is None
    assert np.array_equal(alpha.as_numpy("p_values"), to_numpy(native.decisions.p_values))
    assert np.array_equal(alpha.as_numpy("anomalous"), to_numpy(native.decisions.anomalous))


def test_grpc_images_equal_native_detect(stack: SimpleNamespace) -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    result = stack.grpc.infer(IMAGES, [grpc_input("images", images, "UINT8")])
    request = vis_pb.DetectRequest(images=[vis_pb.Image(pixels=from_numpy(image)) for image in images])
    native = stack.vision.Detect(request, timeout=30).results
    assert np.array_equal(result.as_numpy("scores"), np.array([r.score for r in native], dtype=np.float32))
    assert np.array_equal(result.as_numpy("anomaly_map"), np.stack([to_numpy(r.anomaly_map) for r in native]))


def test_grpc_errors_map_to_status_codes(stack: SimpleNamespace, series: np.ndarray) -> None:
    cases = [
        ("no-such-model", [grpc_input("series", series, "FP32")], "StatusCode.NOT_FOUND", "unknown model"),
        (SERIES, [grpc_input("series", series.astype(np.float64), "FP64")], "StatusCode.INVALID_ARGUMENT",
         "datatype FP64"),
        (SERIES, [grpc_input("series", series[None], "FP32")], "StatusCode.INVALID_ARGUMENT", "shape"),
        (SERIES, [grpc_input("values", series, "FP32")], "StatusCode.INVALID_ARGUMENT", "unexpected input"),
        (SERIES, [grpc_input("series", np.ones((100, 3), np.float32), "FP32")], "StatusCode.INVALID_ARGUMENT",
         "trained on 2"),
    ]
    for model, inputs, status, words in cases:
        with pytest.raises(InferenceServerException) as caught:
            stack.grpc.infer(model, inputs)
        assert caught.value.status() == status and words in caught.value.message(), caught.value


def test_grpc_stream_answers_each_request_and_survives_errors(stack: SimpleNamespace, series: np.ndarray) -> None:
    answers: list[tuple[object, object]] = []
    client = tgrpc.InferenceServerClient(stack.grpc_url)
    client.start_stream(callback=lambda result, error: answers.append((result, error)))
    client.async_stream_infer(SERIES, [grpc_input("series", series, "FP32")], request_id="good")
    client.async_stream_infer(SERIES, [grpc_input("series", series.astype(np.float64), "FP64")], request_id="bad")
    client.async_stream_infer(SERIES, [grpc_input("series", series[:100], "FP32")], request_id="again")
    client.stop_stream()
    client.close()
    assert len(answers) == 3
    (first, no_error), (_, error), (third, _) = answers
    assert no_error is None and first.get_response().id == "good"
    assert np.array_equal(first.as_numpy("scores"), to_numpy(native_series(stack, series).scores))
    assert "datatype FP64" in str(error)
    assert third.as_numpy("scores").shape == (100,)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_http_infer_equals_native_detect(stack: SimpleNamespace, series: np.ndarray, binary: bool) -> None:
    outputs = [thttp.InferRequestedOutput(name, binary_data=binary) for name in ("scores", "anomalous")]
    result = stack.http.infer(SERIES, [http_input("series", series, "FP32", binary)], outputs=outputs)
    native = native_series(stack, series)
    assert np.array_equal(result.as_numpy("scores"), to_numpy(native.scores))
    assert np.array_equal(result.as_numpy("anomalous"), to_numpy(native.decisions.anomalous))
    assert result.as_numpy("p_values") is None


def test_http_health_metadata_and_images(stack: SimpleNamespace) -> None:
    client = stack.http
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(IMAGES)
    assert client.get_server_metadata()["name"] == "polyad-gateway"
    meta = client.get_model_metadata(SERIES)
    assert meta["inputs"] == [{"name": "series", "datatype": "FP32", "shape": [-1, 2]}]
    version = meta["versions"][0]
    assert client.get_model_metadata(SERIES, model_version=version)["versions"] == [version]
    assert client.get_model_config(SERIES)["input"][0]["data_type"] == "TYPE_FP32"
    images = np.full((1, 48, 40, 3), 128, dtype=np.uint8)
    result = client.infer(IMAGES, [http_input("images", images, "UINT8")])  # binary outputs by default
    assert result.as_numpy("anomaly_map").shape == (1, 48, 40) and result.as_numpy("scores").shape == (1,)


def test_http_errors_use_kserve_shape(stack: SimpleNamespace, series: np.ndarray) -> None:
    body = {"inputs": [{"name": "series", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]}
    with httpx.Client(base_url=stack.http_url, timeout=30) as client:
        missing = client.get("/v2/models/no-such-model")
        bad = client.post(f"/v2/models/{SERIES}/infer", json=body)
        garbled = client.post(f"/v2/models/{SERIES}/infer", content=b"{not json")
        not_ready = client.get(f"/v2/models/{SERIES}/versions/nope/ready")
    assert missing.status_code == 404 and "unknown model" in missing.json()["error"]
    assert bad.status_code == 400 and "needs 4 values, got 3" in bad.json()["error"]
    assert garbled.status_code == 400 and "malformed JSON" in garbled.json()["error"]
    assert not_ready.status_code == 400
    with pytest.raises(InferenceServerException) as caught:
        stack.http.infer(SERIES, [http_input("series", series.astype(np.int32), "INT32")])
    assert caught.value.status() == "400" and "datatype INT32" in caught.value.message()
