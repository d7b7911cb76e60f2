"""The hyperspectral service over real loopback gRPC: Detect, Fit, GetModelInfo, and the gateway (gRPC ``other``
arm, REST file upload of .npy / .mat / zipped ENVI with the overlay PNG, generic REST, KServe v2), bad inputs."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import any_pb2

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
from polyad.hyperspectral.v1 import hyperspectral_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from services.hyperspectral.codec import encode_npy
from tests.contract.hyperspectral_case import SMALL_CONFIGS

CONFIG = SMALL_CONFIGS["hyperspectral.dms2f_had"]
SIZE = (32, 32)
MAX_PIXELS = 4096
PNG = b"\x89PNG\r\n\x1a\n"


def packed(message) -> any_pb2.Any:  # type: ignore[no-untyped-def]
    out = any_pb2.Any()
    out.Pack(message)
    return out


def tensor_cube(cube: np.ndarray, **kwargs) -> pb.Cube:  # type: ignore[no-untyped-def]
    return pb.Cube(tensor=from_numpy(np.ascontiguousarray(cube)), **kwargs)


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    from services.hyperspectral.scenes import make_scene

    train = make_scene("urban", seed=0, size=SIZE, target_fraction=0.0).cube
    calibration = make_scene("urban", seed=1, size=SIZE, target_fraction=0.0).cube
    test = make_scene("urban", seed=2, size=SIZE, target_fraction=0.02, fill=(0.4, 0.6))
    return SimpleNamespace(train=train, calibration=calibration, test=test.cube, gt=test.gt,
                           wavelengths=test.centers_nm)


@pytest.fixture(scope="module")
def stack(loop_thread, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
          data: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.hyperspectral.config import HyperspectralSettings
    from services.hyperspectral.detectors.dms2f_had import DMS2FHADDetector
    from tests.support.services import start_gateway

    root = tmp_path_factory.mktemp("hyperspectral-store")
    fit_and_store(ModelStore(root), "hyperspectral", DMS2FHADDetector(CONFIG), data.train, data.calibration)
    settings = HyperspectralSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                                     max_pixels=MAX_PIXELS, max_upload_bytes=8 * 1024 * 1024, min_fit_pixels=256)
    service = loop_thread.run(start("hyperspectral", settings))
    gateway = start_gateway(loop_thread, {"hyperspectral": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
                              service=pb_grpc.HyperspectralServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}",
                              gateway_address=f"127.0.0.1:{gateway.grpc_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


@pytest.fixture(scope="module")
def native(stack: SimpleNamespace, data: SimpleNamespace) -> pb.DetectResponse:
    """The direct answer for the test scene (BH over its pixels, with the overlay)."""
    policy = common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG, alpha=0.05)
    return stack.service.Detect(pb.DetectRequest(cube=tensor_cube(data.test, id="scene-2"), policy=policy,
                                                 include_overlay_png=True), timeout=60)


def test_detect_scores_every_pixel(native: pb.DetectResponse, data: SimpleNamespace) -> None:
    from sklearn.metrics import roc_auc_score

    h, w = SIZE
    scores, heat = to_numpy(native.scores), to_numpy(native.anomaly_map)
    p_values, flags = to_numpy(native.decisions.p_values), to_numpy(native.decisions.anomalous)
    assert scores.shape == (h * w,) and heat.shape == (h, w) and np.array_equal(heat.reshape(-1), scores)
    assert p_values.shape == flags.shape == (h * w,) and ((p_values > 0) & (p_values <= 1)).all()
    assert native.cube_id == "scene-2" and native.model.detector == "dms2f_had" and native.bands_used == 200
    assert roc_auc_score(data.gt.reshape(-1), scores) > 0.8, "implanted targets score above the background"
    s = native.summary
    assert s.flagged_pixels == int(flags.sum()) and s.anomalous == bool(flags.any())
    assert s.min_p_value == pytest.approx(p_values.min()) and s.max_score == pytest.approx(scores.max())
    assert (s.scene_p_value <= 0.05) == s.anomalous, "Simes' scene p-value agrees with BH's 'any pixel flagged'"
    assert native.decisions.rule == common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG
    assert native.overlay_png.startswith(PNG) and len(native.composite_bands) == 3
    from PIL import Image

    image = Image.open(io.BytesIO(native.overlay_png))
    assert image.size == (256, 256) and image.mode == "RGB"


def test_detect_options_and_integer_counts(stack: SimpleNamespace, data: SimpleNamespace,
                                           native: pb.DetectResponse) -> None:
    slim = stack.service.Detect(pb.DetectRequest(cube=tensor_cube(data.test), omit_map=True,
                                                 omit_pixel_decisions=True), timeout=60)
    assert not slim.anomaly_map.ByteSize() and not slim.decisions.p_values.ByteSize() and not slim.overlay_png
    np.testing.assert_allclose(to_numpy(slim.scores), to_numpy(native.scores), rtol=1e-5)
    assert slim.decisions.rule == common_pb2.DECISION_RULE_ALPHA and slim.summary.flagged_pixels >= 0
    counts = np.round(data.test * 10000).astype(np.int32)  # uint16-style sensor counts travel as int32
    reply = stack.service.Detect(pb.DetectRequest(cube=tensor_cube(counts)), timeout=60)
    assert to_numpy(reply.scores).shape == (SIZE[0] * SIZE[1],)


def test_gateway_any_arm_equals_direct(stack: SimpleNamespace, data: SimpleNamespace,
                                       native: pb.DetectResponse) -> None:
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(pb.DetectRequest(
        cube=tensor_cube(data.test)))), timeout=60)
    assert reply.service == "hyperspectral"
    answer = pb.DetectResponse()
    assert reply.other.Unpack(answer)
    np.testing.assert_allclose(to_numpy(answer.scores), to_numpy(native.scores), rtol=1e-5)
    listed = stack.gateway.ListServices(gateway_pb2.ListServicesRequest()).services
    assert [(s.name, s.ready) for s in listed] == [("hyperspectral", True)]


def _mat(cube: np.ndarray, key: str = "data") -> bytes:
    from scipy.io import savemat

    buffer = io.BytesIO()
    savemat(buffer, {key: cube, "map": np.zeros(cube.shape[:2], np.uint8)})
    return buffer.getvalue()


def _envi_zip(cube: np.ndarray, wavelengths: np.ndarray, folder: Path) -> bytes:
    from spectral.io import envi

    header = folder / "scene.hdr"
    envi.save_image(str(header), cube, dtype=np.float32, ext=".img", force=True,
                    metadata={"wavelength": [f"{v:.2f}" for v in wavelengths]})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(header, header.name)
        archive.write(folder / "scene.img", "scene.img")
    return buffer.getvalue()


def test_rest_file_upload(stack: SimpleNamespace, data: SimpleNamespace, native: pb.DetectResponse,
                          tmp_path: Path) -> None:
    expected = to_numpy(native.scores)
    url = f"{stack.http}/v1/hyperspectral/detect/file"
    uploads = {"scene.npy": encode_npy(data.test), "scene.mat": _mat(data.test),
               "scene.zip": _envi_zip(data.test, data.wavelengths, tmp_path)}
    for name, content in uploads.items():
        reply = httpx.post(url, files={"file": (name, content, "application/octet-stream")},
                           params={"rule": "bh", "alpha": 0.05}, timeout=60)
        assert reply.status_code == 200, (name, reply.text)
        body = reply.json()
        assert body["filename"] == name and (body["height"], body["width"]) == SIZE and body["bands_used"] == 200
        np.testing.assert_allclose(np.asarray(body["anomaly_map"]).reshape(-1), expected, rtol=1e-4, atol=1e-5)
        assert body["rule"] == "DECISION_RULE_BENJAMINI_HOCHBERG"
        assert body["summary"]["flagged_pixels"] == len(body["flagged"]) == native.summary.flagged_pixels
        assert base64.b64decode(body["overlay_png_base64"]).startswith(PNG) and len(body["composite_bands"]) == 3
    # ENVI headers carry band centres: the composite uses the bands nearest 650 / 550 / 460 nm
    rgb = httpx.post(url, files={"file": ("scene.zip", uploads["scene.zip"])}, timeout=60).json()["composite_bands"]
    assert [int(np.argmin(np.abs(data.wavelengths - nm))) for nm in (650, 550, 460)] == rgb
    raw = httpx.post(url, content=uploads["scene.npy"], params={"filename": "scene.npy", "overlay": "false",
                                                                "map": "false"}, timeout=60)
    assert raw.status_code == 200, raw.text
    assert raw.json()["overlay_png_base64"] is None and raw.json()["anomaly_map"] is None
    named = httpx.post(url, files={"file": ("scene.mat", _mat(data.test, key="radiance"))},
                       params={"variable": "radiance"}, timeout=60)
    assert named.status_code == 200, named.text


def test_generic_rest_protobuf_json(stack: SimpleNamespace, data: SimpleNamespace, native: pb.DetectResponse) -> None:
    body = {"cube": {"file": {"filename": "scene.npy", "content": base64.b64encode(encode_npy(data.test)).decode()}},
            "omitMap": True}
    reply = httpx.post(f"{stack.http}/v1/hyperspectral/detect", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    assert "anomalyMap" not in json.dumps(reply.json())


def _bad_requests(data: SimpleNamespace) -> list[tuple[pb.DetectRequest, str, str]]:
    nan = data.test.copy()
    nan[3, 4, 5] = np.nan
    return [
        (pb.DetectRequest(cube=tensor_cube(data.test[0])), "cube.tensor", "expected rank 3"),
        (pb.DetectRequest(cube=tensor_cube(data.test[..., :100])), "cube.tensor", "the model expects 220"),
        (pb.DetectRequest(cube=tensor_cube(nan)), "cube.tensor", "row 3, column 4, band 5"),
        (pb.DetectRequest(cube=tensor_cube(data.test.astype(bool))), "cube.tensor", "not accepted"),
        (pb.DetectRequest(cube=tensor_cube(data.test, wavelengths_nm=[500.0] * 3)), "cube.wavelengths_nm",
         "3 wavelengths for 220 bands"),
        (pb.DetectRequest(cube=pb.Cube(file=pb.CubeFile(filename="x.mat", content=b"MATLAB garbage" * 20))),
         "cube.file", "could not read"),
        (pb.DetectRequest(cube=pb.Cube(file=pb.CubeFile(filename="x.npy", content=encode_npy(data.test)[:500]))),
         "cube.file", "could not read"),
        (pb.DetectRequest(cube=pb.Cube(file=pb.CubeFile(filename="x.tif", content=b"II*\x00"))), "cube.file",
         "unknown file type"),
        (pb.DetectRequest(cube=pb.Cube(file=pb.CubeFile(filename="x.npy", content=encode_npy(data.test[..., :7])))),
         "cube.file", "the model expects 220"),
        (pb.DetectRequest(), "cube", "cube is missing"),
        (pb.DetectRequest(cube=tensor_cube(data.test), policy=common_pb2.DecisionPolicy(alpha=2.0)), "",
         "policy.alpha"),
    ]


def test_bad_inputs_are_invalid_argument(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    for request, field, fragment in _bad_requests(data):
        for call in (lambda r: stack.service.Detect(r, timeout=30),
                     lambda r: stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(r)), timeout=30)):
            with pytest.raises(grpc.RpcError) as caught:
                call(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (fragment, caught.value.details())
            assert fragment in caught.value.details(), (fragment, caught.value.details())
            assert field in caught.value.details(), (field, caught.value.details())


def test_rest_bad_uploads_are_400(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    url = f"{stack.http}/v1/hyperspectral/detect/file"
    cases = [
        ({"files": {"file": ("scene.mat", b"\x00not a mat file" * 64)}}, "cube.file"),
        ({"files": {"file": ("scene.zip", b"PK\x03\x04 truncated")}}, "cube.file"),
        ({"files": {"file": ("scene.npy", encode_npy(data.test[..., :50]))}}, "the model expects 220"),
        ({"files": {"file": ("scene.npy", encode_npy(data.test[0]))}}, "expected a cube (H, W, bands)"),
        ({"content": encode_npy(data.test)}, "filename"),
        ({"files": {"file": ("scene.npy", b"")}}, "file"),
    ]
    for kwargs, fragment in cases:
        reply = httpx.post(url, timeout=60, **kwargs)
        assert reply.status_code == 400, (fragment, reply.status_code, reply.text)
        assert fragment in reply.json()["error"]["message"], (fragment, reply.text)


def test_uploads_over_the_limit_are_413_naming_it(stack: SimpleNamespace) -> None:
    """A well-formed but too large upload is RESOURCE_EXHAUSTED / 413 with the limit, not 400."""
    big = b"\x00" * (8 * 1024 * 1024 + 1)
    reply = httpx.post(f"{stack.http}/v1/hyperspectral/detect/file", files={"file": ("big.npy", big)}, timeout=60)
    assert reply.status_code == 413, reply.text
    assert reply.json()["error"] == {"code": "RESOURCE_EXHAUSTED", "message": reply.json()["error"]["message"]}
    assert "cube.file: the upload has" in reply.json()["error"]["message"]
    assert str(8 * 1024 * 1024) in reply.json()["error"]["message"]
    too_many_pixels = np.zeros((MAX_PIXELS // 32 + 1, 32, 220), np.float32)
    for request, limit in [
        (pb.DetectRequest(cube=pb.Cube(file=pb.CubeFile(filename="big.npy", content=big))), str(8 * 1024 * 1024)),
        (pb.DetectRequest(cube=tensor_cube(too_many_pixels)), f"cube.tensor: the cube has {MAX_PIXELS + 32} pixels"),
    ]:
        for call in (lambda r: stack.service.Detect(r, timeout=30),
                     lambda r: stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(r)), timeout=30)):
            with pytest.raises(grpc.RpcError) as caught:
                call(request)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
            assert limit in caught.value.details(), caught.value.details()


def test_model_info_and_fit(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert info.model.detector == "dms2f_had" and info.model.modality == "hyperspectral"
    assert list(info.model.input_shape) == [-1, -1, 220] and info.model.calibration_size == SIZE[0] * SIZE[1]
    assert json.loads(info.model.training_summary_json)["bands_used"] == 200
    config = json.dumps({**CONFIG, "epochs": 1})
    fitted = stack.service.Fit(pb.FitRequest(cube=tensor_cube(data.test), config_json=config,
                                             calibration_fraction=0.25), timeout=120)
    assert fitted.model.version != info.model.version and json.loads(fitted.model.config_json)["epochs"] == 1
    assert fitted.model.calibration_size == 8 * SIZE[1], "the bottom quarter of the rows calibrates"
    assert json.loads(fitted.model.training_summary_json)["height"] == 24
    upload = stack.service.Fit(pb.FitRequest(cube=pb.Cube(file=pb.CubeFile(filename="s.npy",
                                                                          content=encode_npy(data.test))),
                                             config_json=json.dumps({**CONFIG, "epochs": 1, "drop_bands": [0, 1]})),
                               timeout=120)
    assert upload.model.calibration_size == round(SIZE[0] * 0.2) * SIZE[1]
    request = pb.DetectRequest(cube=tensor_cube(data.test), model=common_pb2.ModelRef(version=upload.model.version))
    assert to_numpy(stack.service.Detect(request, timeout=60).scores).shape == (SIZE[0] * SIZE[1],)
    for bad, fragment in [
        (pb.FitRequest(cube=tensor_cube(data.test[:6, :6])), "too small"),
        (pb.FitRequest(cube=tensor_cube(data.test), config_json="[1]"), "config_json"),
        (pb.FitRequest(cube=tensor_cube(data.test), config_json='{"window": 4}'), "window"),
        (pb.FitRequest(cube=tensor_cube(data.test), calibration_fraction=0.95), "calibration_fraction"),
        (pb.FitRequest(cube=pb.Cube(file=pb.CubeFile(filename="s.mat", content=b"junk"))), "cube.file"),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            stack.service.Fit(bad, timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (fragment, caught.value.details())
        assert fragment in caught.value.details(), (fragment, caught.value.details())


def test_kserve_v2_model_equals_native_detect(stack: SimpleNamespace, data: SimpleNamespace,
                                              native: pb.DetectResponse) -> None:
    import tritonclient.grpc as tgrpc

    client = tgrpc.InferenceServerClient(stack.gateway_address)
    try:
        meta = client.get_model_metadata("hyperspectral-dms2f_had", as_json=True)
        assert [(t["name"], t["datatype"]) for t in meta["inputs"]] == [("cube", "FP32")]
        tensor = tgrpc.InferInput("cube", list(data.test.shape), "FP32")
        tensor.set_data_from_numpy(data.test)
        result = client.infer("hyperspectral-dms2f_had", [tensor], model_version=native.model.version)
        with pytest.raises(Exception, match="the model expects 220"):
            short = tgrpc.InferInput("cube", [4, 4, 10], "FP32")
            short.set_data_from_numpy(np.zeros((4, 4, 10), np.float32))
            client.infer("hyperspectral-dms2f_had", [short])
    finally:
        client.close()
    np.testing.assert_allclose(result.as_numpy("scores"), to_numpy(native.scores), rtol=1e-5)
    assert result.as_numpy("anomaly_map").shape == SIZE
    assert result.as_numpy("anomalous").shape == (SIZE[0] * SIZE[1],)


def test_cli_score_through_the_gateway(stack: SimpleNamespace, data: SimpleNamespace, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from spectral.io import envi

    from services.hyperspectral import cli

    envi.save_image(str(tmp_path / "scene.hdr"), data.test, dtype=np.float32, ext=".img", force=True)
    np.save(tmp_path / "other.npy", data.test)
    args = SimpleNamespace(gateway=stack.gateway_address, files=[str(tmp_path / "scene.hdr"),
                                                                 str(tmp_path / "other.npy")],
                           cube_variable="", rule="bh", alpha=0.05, overlay=str(tmp_path / "png"), json=True,
                           timeout=60.0)
    assert cli.score(args) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["pixels"] for r in reports] == [SIZE[0] * SIZE[1]] * 2
    assert reports[0]["top_pixels"] == reports[1]["top_pixels"], "the ENVI pair and the .npy hold the same cube"
    assert (tmp_path / "png" / "scene.overlay.png").read_bytes().startswith(PNG)
