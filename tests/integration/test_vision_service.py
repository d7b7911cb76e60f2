"""The vision service over real loopback gRPC, through the gateway (gRPC and REST PNG upload)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
from PIL import Image

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import to_numpy
from tests.contract.cases import SMALL_CONFIGS
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

SIZE = 64


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def crops() -> SimpleNamespace:
    from services.vision.data import inspection_set

    data = inspection_set("brick", n_train=20, n_test=8, size=SIZE, seed=3)
    defective = int(np.flatnonzero(data.test_labels)[0])
    normal = int(np.flatnonzero(data.test_labels == 0)[0])
    return SimpleNamespace(train=data.train_images, defect=data.test_images[defective],
                           mask=data.test_masks[defective], normal=data.test_images[normal])


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          crops: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core import registry
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.vision.config import VisionSettings

    root = tmp_path_factory.mktemp("vision-store")
    detector = registry.detector_class("vision", "multi_ad")(SMALL_CONFIGS["vision.multi_ad"])
    fit_and_store(ModelStore(root), "vision", detector, *chronological_split(crops.train, 0.25))
    settings = VisionSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                              max_pixels=512 * 512, image_size=SIZE)
    service = loop_thread.run(start("vision", settings))
    gateway = start_gateway(loop_thread, {"vision": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
                              service=pb_grpc.VisionServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def test_detect_through_gateway_returns_maps_at_input_size(stack: SimpleNamespace, crops: SimpleNamespace) -> None:
    big = np.asarray(Image.fromarray(crops.defect).resize((96, 80)))
    images = [pb.Image(id="defect", encoded=png(big)), pb.Image(id="ok", encoded=png(crops.normal))]
    request = pb.DetectRequest(images=images, include_heatmap_png=True)
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(vision=request), timeout=60)
    assert reply.service == "vision"
    defect, ok = reply.vision.results
    assert (defect.id, ok.id) == ("defect", "ok")
    assert to_numpy(defect.anomaly_map).shape == (80, 96) and to_numpy(ok.anomaly_map).shape == (SIZE, SIZE)
    assert np.asarray(Image.open(io.BytesIO(defect.heatmap_png))).shape == (80, 96, 3)
    assert 0 < defect.p_value <= 1 and 0 < ok.p_value <= 1
    heat = to_numpy(defect.anomaly_map)
    mask = np.asarray(Image.fromarray(crops.mask.astype(np.uint8) * 255).resize((96, 80), Image.NEAREST)) > 0
    assert heat[mask].mean() > heat[~mask].mean(), "the map is not hotter on the defect than off it"


def test_rest_png_upload(stack: SimpleNamespace, crops: SimpleNamespace) -> None:
    files = [("files", ("a.png", png(crops.defect), "image/png")), ("files", ("b.png", png(crops.normal), "image/png"))]
    reply = httpx.post(f"{stack.http}/v1/vision/detect", params={"heatmap": "true"}, files=files, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [r["id"] for r in body["results"]] == ["a.png", "b.png"]
    assert base64.b64decode(body["results"][0]["heatmap_png_base64"])[:4] == b"\x89PNG"
    bad = httpx.post(f"{stack.http}/v1/vision/detect", files=[("files", ("x.png", b"nope", "image/png"))], timeout=10)
    assert bad.status_code == 400 and "not a PNG or JPEG" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("image", "fragment", "code"),
    [
        (pb.Image(encoded=b"GIF89a-not-really"), "not a PNG or JPEG", grpc.StatusCode.INVALID_ARGUMENT),
        (pb.Image(encoded=png(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))[:400]),
         "truncated", grpc.StatusCode.INVALID_ARGUMENT),
        # well formed but over max_pixels: RESOURCE_EXHAUSTED (HTTP 413) naming the limit
        (pb.Image(encoded=png(np.zeros((600, 600, 3), np.uint8))), "the limit is 262144",
         grpc.StatusCode.RESOURCE_EXHAUSTED),
        (pb.Image(), "no content", grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_images_are_invalid_argument_and_service_keeps_serving(
    stack: SimpleNamespace, crops: SimpleNamespace, image: pb.Image, fragment: str, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stack.gateway.Detect(gateway_pb2.DetectRequest(vision=pb.DetectRequest(images=[image])), timeout=30)
    assert caught.value.code() == code and fragment in caught.value.details()
    ok = pb.DetectRequest(images=[pb.Image(encoded=png(crops.normal))], omit_anomaly_map=True)
    assert stack.service.Detect(ok, timeout=30).results[0].anomaly_map.ByteSize() == 0


def test_model_info_and_fit_limits(stack: SimpleNamespace, crops: SimpleNamespace) -> None:
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert info.detector == "multi_ad" and info.modality == "vision" and info.calibration_size == 5
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(images=[pb.Image(encoded=png(crops.normal))] * 3), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at least 8" in caught.value.details()


def test_service_is_listed(stack: SimpleNamespace) -> None:
    assert [(s.name, s.ready) for s in stack.gateway.ListServices(gateway_pb2.ListServicesRequest()).services] == [
        ("vision", True)
    ]
