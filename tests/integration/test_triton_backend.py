"""The ``triton`` backend against a real Triton server (PyPI's nvidia-pytriton, CPU, its own venv).

Chain under test: tritonclient → gateway (KServe v2) → vision service (backend ``triton``) → Triton,
whose scores must agree with the PyTorch detector. Skipped, with the reason, only when the pytriton
environment cannot be created (``scripts/make_pytriton_env.sh``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import numpy as np
import pytest
import tritonclient.grpc as tgrpc

from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from services.core.store import ModelStore
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory, vision_store: Path) -> Iterator[SimpleNamespace]:
    from services.core.triton.launcher import ensure_pytriton_env, start_pytriton
    from services.core.triton.repository import export_version
    from services.vision.detectors.multi_ad import MultiADDetector

    python, reason = ensure_pytriton_env()
    if python is None:
        pytest.skip(f"no real Triton server: {reason}")
    repository = tmp_path_factory.mktemp("triton") / "models"
    stored = ModelStore(vision_store).resolve("vision", "multi_ad")
    export_version(repository, stored, MultiADDetector)
    server = start_pytriton(repository, python)
    yield SimpleNamespace(server=server, repository=repository, detector=MultiADDetector.load(stored.path))
    server.stop()


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, vision_store: Path, triton: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.vision.config import VisionSettings

    backend = BackendSettings(kind="triton", triton_url=triton.server.grpc_url,
                              triton_model_repository=str(triton.repository))
    service = loop_thread.run(start("vision", VisionSettings(address="127.0.0.1:0", store_root=str(vision_store),
                                                   backend=backend, image_size=64)))
    gateway = start_gateway(loop_thread, {"vision": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel, \
            tgrpc.InferenceServerClient(f"127.0.0.1:{gateway.grpc_port}") as kserve:
        yield SimpleNamespace(service=pb_grpc.VisionServiceStub(channel), kserve=kserve)
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)


def test_real_triton_serves_the_exported_model(triton: SimpleNamespace) -> None:
    with tgrpc.InferenceServerClient(triton.server.grpc_url) as client:
        assert client.is_server_ready() and client.is_model_ready("vision-multi_ad", "1")
        meta = client.get_model_metadata("vision-multi_ad", as_json=True)
        batch = images(3, 0)
        tensor = tgrpc.InferInput("images__0", list(batch.shape), "UINT8")
        tensor.set_data_from_numpy(batch)
        result = client.infer("vision-multi_ad", [tensor], model_version="1")
    assert meta["versions"] == ["1"] and meta["inputs"][0]["shape"] == ["-1", "64", "64", "3"]
    expected_scores, expected_maps = triton.detector.score_and_maps(batch)
    np.testing.assert_allclose(result.as_numpy("scores__0").reshape(-1), expected_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.as_numpy("anomaly_map__1"), expected_maps, rtol=1e-5, atol=1e-6)


def test_service_on_triton_backend_scores_like_pytorch(stack: SimpleNamespace, triton: SimpleNamespace) -> None:
    batch = images(20, 1)  # more than max_batch_size (16): the backend splits it
    request = pb.DetectRequest(images=[pb.Image(pixels=from_numpy(image)) for image in batch])
    reply = stack.service.Detect(request, timeout=60)
    expected_scores, expected_maps = triton.detector.score_and_maps(batch)
    np.testing.assert_allclose([r.score for r in reply.results], expected_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(reply.results[19].anomaly_map), expected_maps[19], rtol=1e-5, atol=1e-6)
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=30).model
    assert info.backend == "triton"


def test_kserve_through_gateway_to_triton_backend(stack: SimpleNamespace, triton: SimpleNamespace) -> None:
    batch = images(2, 2)
    tensor = tgrpc.InferInput("images", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    result = stack.kserve.infer("vision-multi_ad", [tensor])
    assert stack.kserve.get_model_metadata("vision-multi_ad").platform == "polyad_triton"
    np.testing.assert_allclose(result.as_numpy("scores"), triton.detector.score_and_maps(batch)[0],
                               rtol=1e-5, atol=1e-6)
