"""VJE served by the vision service over real loopback gRPC: Fit on grayscale Fashion-MNIST PNGs, Detect held-out
images of every class, bad VJE configuration -> INVALID_ARGUMENT with the expected range in the message."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from polyad.common.v1 import common_pb2
from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.vision.fashion_mnist import FashionMNISTMissingError, one_class_split
from tests.support.loop import LoopThread


def png(gray: np.ndarray) -> pb.Image:
    """A 28x28 uint8 grayscale image as a one-channel PNG (the codec turns it into RGB)."""
    buffer = io.BytesIO()
    Image.fromarray(gray, mode="L").save(buffer, format="PNG")
    return pb.Image(encoded=buffer.getvalue())


@pytest.fixture(scope="module")
def split() -> SimpleNamespace:
    try:
        data = one_class_split(1, n_train=40, n_test=60, seed=0)  # trousers normal
    except FashionMNISTMissingError as error:
        pytest.skip(str(error))
    return data


@pytest.fixture(scope="module")
def stub(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pb_grpc.VisionServiceStub]:
    from services.core.app import start
    from services.vision.config import VisionSettings

    root = tmp_path_factory.mktemp("vje-store")
    settings = VisionSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(), image_size=32)
    server = loop_thread.run(start("vision", settings))
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.VisionServiceStub(channel)
    loop_thread.run(server.stop())


def test_fit_and_detect_one_class_over_grpc(stub: pb_grpc.VisionServiceStub, split: SimpleNamespace) -> None:
    fit = pb.FitRequest(images=[png(im) for im in split.train], detector="vje", config_json=json.dumps({"views": 2}))
    info = stub.Fit(fit, timeout=300).model
    assert info.detector == "vje" and info.calibration_size == 8
    request = pb.DetectRequest(images=[png(im) for im in split.test], omit_anomaly_map=True,
                               model=common_pb2.ModelRef(detector="vje", version=info.version))
    reply = stub.Detect(request, timeout=120)
    scores = np.array([r.score for r in reply.results])
    assert len(scores) == len(split.test) and np.isfinite(scores).all()
    assert roc_auc_score(split.test_labels, scores) > 0.85
    assert all(0.0 < r.p_value <= 1.0 for r in reply.results)


def test_bad_vje_config_is_invalid_argument(stub: pb_grpc.VisionServiceStub, split: SimpleNamespace) -> None:
    fit = pb.FitRequest(images=[png(im) for im in split.train], detector="vje", config_json=json.dumps({"nu": -1}))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Fit(fit, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "nu" in caught.value.details()
