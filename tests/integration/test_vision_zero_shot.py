"""Tipsomaly (zero-shot VLM) through the real vision service on loopback gRPC.

No VLM weights ship, so the service must refuse honestly (FAILED_PRECONDITION naming the setting) when none is
configured; with a random-weights checkpoint of the real OpenCLIP architecture (tiny widths) and a small BPE
merges file written to tmp, Detect must return scores and maps at the input resolution.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import numpy as np
import pytest
import torch
from PIL import Image

from polyad.common.v1 import common_pb2
from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import to_numpy
from services.vision.detectors.tipsomaly import ClipTokenizer, PreconditionError, TipsomalyDetector
from services.vision.detectors.tipsomaly.config import CHECKPOINT_ENV
from tests.contract.cases import write_tiny_vlm
from tests.support.services import start_gateway

SIZE = 64
SMALL = {"image_size": SIZE, "n_ctx": 4}


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack(loop_thread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.vision.config import VisionSettings

    checkpoint = write_tiny_vlm(tmp_path_factory.mktemp("vlm"))
    images = np.random.default_rng(0).integers(0, 256, (10, SIZE, SIZE, 3), dtype=np.uint8)
    store = ModelStore(tmp_path_factory.mktemp("vision-store"))
    # (a) fitted where $POLYAD_VISION_TIPSOMALY_CHECKPOINT was set; the config itself names no checkpoint
    os.environ[CHECKPOINT_ENV] = str(checkpoint)
    try:
        env_only = fit_and_store(store, "vision", TipsomalyDetector(SMALL), *chronological_split(images, 0.3))
    finally:
        del os.environ[CHECKPOINT_ENV]
    configured = fit_and_store(store, "vision", TipsomalyDetector(SMALL, checkpoint=str(checkpoint)),
                               *chronological_split(images, 0.3))
    settings = VisionSettings(address="127.0.0.1:0", store_root=str(store.root), backend=BackendSettings(),
                              image_size=SIZE, default_detector="tipsomaly")
    service = loop_thread.run(start("vision", settings))
    gateway = start_gateway(loop_thread, {"vision": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        yield SimpleNamespace(stub=pb_grpc.VisionServiceStub(channel), env_only=env_only, configured=configured,
                              checkpoint=checkpoint, images=images, gateway=gateway)
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def _ref(stored) -> common_pb2.ModelRef:
    return common_pb2.ModelRef(detector="tipsomaly", version=stored.version)


def test_model_without_checkpoint_is_failed_precondition_naming_the_setting(stack: SimpleNamespace) -> None:
    assert CHECKPOINT_ENV not in os.environ
    request = pb.DetectRequest(images=[pb.Image(encoded=png(stack.images[0]))], model=_ref(stack.env_only))
    with pytest.raises(grpc.RpcError) as caught:
        stack.stub.Detect(request, timeout=30)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no VLM checkpoint configured" in caught.value.details() and CHECKPOINT_ENV in caught.value.details()
    assert "set checkpoint" in caught.value.details()
    # Fit of a new version with no checkpoint anywhere is refused the same way (nothing is stored)
    fit = pb.FitRequest(images=[pb.Image(encoded=png(im)) for im in stack.images], detector="tipsomaly")
    with pytest.raises(grpc.RpcError) as caught:
        stack.stub.Fit(fit, timeout=30)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "set checkpoint" in caught.value.details()
    assert PreconditionError.http_status == 400


def test_status_says_no_checkpoint_is_configured_everywhere(stack: SimpleNamespace,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """GetModelInfo, the gateway's /v1/services and KServe index, and `polyad services` name the setting."""
    import httpx

    from polyad.cli import main

    assert CHECKPOINT_ENV not in os.environ
    info = stack.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert "tipsomaly" in info.detectors and "multi_ad" in info.detectors
    reason = info.unavailable_detectors["tipsomaly"]
    assert "no VLM checkpoint configured" in reason and CHECKPOINT_ENV in reason
    assert set(info.unavailable_detectors) == {"tipsomaly"}  # the trained detectors need nothing more
    http = f"http://127.0.0.1:{stack.gateway.http_port}"
    services = httpx.get(f"{http}/v1/services", timeout=10).json()["services"]
    assert services[0]["unavailable_detectors"] == {"tipsomaly": reason}
    index = {m["name"]: m for m in httpx.post(f"{http}/v2/repository/index", timeout=10).json()}
    assert index["vision-tipsomaly"]["state"] == "UNAVAILABLE" and index["vision-tipsomaly"]["reason"] == reason
    assert index["vision-multi_ad"]["reason"] == ""
    assert httpx.get(f"{http}/v2/models/vision-tipsomaly/ready", timeout=10).status_code != 200
    assert main(["services", "--gateway", f"127.0.0.1:{stack.gateway.grpc_port}", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["services"][0]
    assert listed["unavailable_detectors"] == {"tipsomaly": reason}
    os.environ[CHECKPOINT_ENV] = str(stack.checkpoint)  # configured: nothing is reported any more
    try:
        info = stack.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
        assert "tipsomaly" not in info.unavailable_detectors
    finally:
        del os.environ[CHECKPOINT_ENV]


def test_random_weights_checkpoint_gives_scores_and_maps_at_input_resolution(stack: SimpleNamespace) -> None:
    big = np.asarray(Image.fromarray(stack.images[0]).resize((96, 80)))
    request = pb.DetectRequest(images=[pb.Image(id="big", encoded=png(big)),
                                       pb.Image(id="small", encoded=png(stack.images[1]))],
                               model=_ref(stack.configured), include_heatmap_png=True)
    reply = stack.stub.Detect(request, timeout=60)
    first, second = reply.results
    assert (first.id, second.id) == ("big", "small") and reply.model.version == stack.configured.version
    assert to_numpy(first.anomaly_map).shape == (80, 96) and to_numpy(second.anomaly_map).shape == (SIZE, SIZE)
    assert np.asarray(Image.open(io.BytesIO(first.heatmap_png))).shape == (80, 96, 3)
    assert np.isfinite([first.score, second.score]).all() and 0 < first.p_value <= 1
    local = TipsomalyDetector.load(stack.configured.path)
    scores, maps = local.score_and_explain(np.stack([stack.images[1]]))
    np.testing.assert_allclose(second.score, scores[0], rtol=1e-5)
    np.testing.assert_allclose(to_numpy(second.anomaly_map), maps[0], rtol=1e-4, atol=1e-6)

    info = stack.stub.GetModelInfo(pb.GetModelInfoRequest(model=_ref(stack.configured)), timeout=10).model
    summary = json.loads(info.training_summary_json)
    assert summary["zero_shot"] and not summary["images_used"] and summary["checkpoint"] == str(stack.checkpoint)


def test_image_and_pixel_prompts_are_decoupled(stack: SimpleNamespace) -> None:
    detector = TipsomalyDetector.load(stack.configured.path)
    _, prompts, pixel_text = detector._ready()
    assert not torch.allclose(prompts.image_text, pixel_text)  # two different prompt sets
    assert prompts.context.requires_grad and not prompts.image_text.requires_grad  # learnable vs fixed
    batch = stack.images[:3]
    image_only = TipsomalyDetector.load(stack.configured.path)
    image_only.config = image_only.config.model_copy(update={"fusion_weight": 0.0})
    before = image_only.score_and_explain(batch)
    with torch.no_grad():  # new pixel-level context: maps change, the image-level (fixed-prompt) score does not
        image_only._ready()[1].context.add_(torch.randn_like(prompts.context))
    image_only._pixel_text = None
    after = image_only.score_and_explain(batch)
    np.testing.assert_allclose(before[0], after[0], rtol=1e-6)
    assert not np.allclose(before[1], after[1])


def test_tokenizer_reads_the_merges_file_next_to_the_checkpoint(stack: SimpleNamespace) -> None:
    tokenizer = ClipTokenizer(stack.checkpoint.parent / "bpe_simple_vocab_16e6.txt.gz")
    ids = tokenizer(["A photo of a damaged object.", "x x flawless object."], 12)
    assert ids.shape == (2, 12) and (ids[:, 0] == tokenizer.sot).all()
    assert int(ids[0].argmax()) == 8 and ids[0, 8] == tokenizer.eot  # a, photo, of, a, damaged, object, "."
    assert tokenizer.encode("damaged") == [tokenizer.encoder["damaged</w>"]]
    assert ids[1, 1] == ids[1, 2] == tokenizer.encoder["x</w>"]  # one token per pixel-prompt placeholder


def test_fit_with_the_checkpoint_in_config_json(stack: SimpleNamespace) -> None:
    config = json.dumps({**SMALL, "checkpoint": str(stack.checkpoint)})
    fit = pb.FitRequest(images=[pb.Image(encoded=png(im)) for im in stack.images], detector="tipsomaly",
                        config_json=config)
    info = stack.stub.Fit(fit, timeout=60).model
    assert info.detector == "tipsomaly" and json.loads(info.config_json)["checkpoint"] == str(stack.checkpoint)
    request = pb.DetectRequest(images=[pb.Image(encoded=png(stack.images[0]))],
                               model=common_pb2.ModelRef(detector="tipsomaly", version=info.version))
    assert to_numpy(stack.stub.Detect(request, timeout=60).results[0].anomaly_map).shape == (SIZE, SIZE)
