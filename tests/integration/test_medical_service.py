"""The medical service over real loopback gRPC: Detect (NIfTI, DICOM, tensor), Fit, GetModelInfo, and the gateway
(gRPC ``other`` arm, REST file upload with base64 downloads, KServe v2), with a tiny Multi-AD."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import any_pb2

pytest.importorskip("nibabel")
pytest.importorskip("pydicom")

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.medical.v1 import medical_pb2 as pb
from polyad.medical.v1 import medical_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

TINY = {"image_size": 64, "kd_steps": 12, "kd_crop": 48, "kd_batch": 4, "synthetic_per_image": 1, "disc_steps": 8,
        "disc_batch": 4, "student_width": 8, "student_blocks": 1, "disc_width": 8, "volume_batch": 8}
MAX_VOXELS = 300_000


def nifti_bytes(values: np.ndarray, affine: np.ndarray) -> bytes:
    import nibabel as nib

    image = nib.Nifti1Image(values, affine)
    return gzip.compress(image.to_bytes())


@pytest.fixture(scope="module")
def brain() -> SimpleNamespace:
    """A real T1 (the MNI152 template in nilearn) skull-stripped and downsampled 4x, stored L-P-S flipped with an
    origin shift so the map's affine is not the identity: (X, Y, Z) = (50, 59, 48)."""
    import nibabel as nib

    from services.medical.defaults import mni152_volume

    volume = mni152_volume()
    small = volume.data[::4, ::4, ::4].astype(np.float32)
    ras = volume.affine @ np.diag([4.0, 4.0, 4.0, 1.0])
    flipped = small[::-1, ::-1, :].copy()  # stored as L, P, S
    affine = ras @ np.array([[-1, 0, 0, small.shape[0] - 1], [0, -1, 0, small.shape[1] - 1], [0, 0, 1, 0],
                             [0, 0, 0, 1.0]])
    data = nifti_bytes(flipped, affine)
    assert nib.aff2axcodes(affine) == ("L", "P", "S")
    return SimpleNamespace(ras=small, stored=flipped, affine=affine, nifti=data)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          brain: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.medical.codec import decode_upload
    from services.medical.config import MedicalSettings
    from services.medical.detectors.multi_ad import MedicalMultiADDetector
    from services.medical.pipeline import training_stacks

    root = tmp_path_factory.mktemp("medical-store")
    stacks = training_stacks([decode_upload(brain.nifti, "brain.nii.gz")], size=64)
    held = np.zeros(len(stacks), bool)
    held[::4] = True
    fit_and_store(ModelStore(root), "medical", MedicalMultiADDetector(TINY), stacks[~held], stacks[held])
    settings = MedicalSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                               max_voxels=MAX_VOXELS, fit_image_size=64, min_fit_slices=8)
    service = loop_thread.run(start("medical", settings))
    gateway = start_gateway(loop_thread, {"medical": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
                              service=pb_grpc.MedicalServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}",
                              gateway_address=f"127.0.0.1:{gateway.grpc_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def packed(message) -> any_pb2.Any:  # type: ignore[no-untyped-def]
    out = any_pb2.Any()
    out.Pack(message)
    return out


def upload(data: bytes, name: str, **outputs) -> pb.DetectRequest:  # type: ignore[no-untyped-def]
    return pb.DetectRequest(study=pb.Study(id=name, upload=pb.Upload(data=data, filename=name)),
                            outputs=pb.OutputOptions(**outputs))


def test_detect_nifti_volume_and_map_round_trip(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    import nibabel as nib
    from PIL import Image

    reply = stack.service.Detect(upload(brain.nifti, "brain.nii.gz", include_nifti_map=True, overlay_slices=2),
                                 timeout=60)
    z = brain.ras.shape[2]
    scores, scored = to_numpy(reply.slice_scores), to_numpy(reply.scored)
    p_values = to_numpy(reply.slice_decisions.p_values)
    assert scores.shape == scored.shape == p_values.shape == (z,) and scored.sum() > 10
    assert ((p_values > 0) & (p_values <= 1)).all() and (p_values[~scored] == 1).all()
    assert 0 < reply.volume_p_value <= 1 and np.isfinite(reply.volume_score)
    assert reply.id == "brain.nii.gz" and reply.model.detector == "multi_ad"
    heat = to_numpy(reply.anomaly_map)
    assert heat.shape == brain.ras.shape and list(reply.spacing) == pytest.approx([4.0, 4.0, 4.0])
    image = nib.Nifti1Image.from_bytes(gzip.decompress(reply.nifti_map))
    assert image.shape == brain.stored.shape, "the map has the input's shape"
    np.testing.assert_allclose(image.affine, brain.affine, atol=1e-5)  # ... and its affine
    np.testing.assert_allclose(np.asarray(image.dataobj), heat[::-1, ::-1, :], atol=1e-6)  # stored orientation
    assert len(reply.overlays) == 2
    top = [o.slice_index for o in reply.overlays]
    assert top == np.argsort(-np.where(scored, scores, -np.inf), kind="stable")[:2].tolist()
    picture = Image.open(io.BytesIO(reply.overlays[0].png))
    assert picture.size == (brain.ras.shape[0], brain.ras.shape[1])  # (W=X, H=Y) display orientation


def test_tensor_study_equals_upload_and_bh_volume_rule(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    tensor = pb.DetectRequest(study=pb.Study(volume=pb.VolumeTensor(values=from_numpy(brain.ras),
                                                                    spacing=[4, 4, 4])))
    by_tensor = stack.service.Detect(tensor, timeout=60)
    by_upload = stack.service.Detect(upload(brain.nifti, "b.nii.gz"), timeout=60)
    np.testing.assert_allclose(to_numpy(by_tensor.slice_scores), to_numpy(by_upload.slice_scores), rtol=1e-5)
    tensor.policy.CopyFrom(common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG, alpha=0.2))
    bh = stack.service.Detect(tensor, timeout=60)
    assert bh.slice_decisions.rule == common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG
    assert bh.volume_anomalous == bool(to_numpy(bh.slice_decisions.anomalous).any()), "BH volume = any slice"


def test_gateway_any_arm_and_model_info(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    request = upload(brain.nifti, "brain.nii.gz")
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(request)), timeout=60)
    assert reply.service == "medical"
    answer = pb.DetectResponse()
    assert reply.other.Unpack(answer)
    direct = stack.service.Detect(request, timeout=60)
    np.testing.assert_allclose(to_numpy(answer.slice_scores), to_numpy(direct.slice_scores), rtol=1e-5)
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert info.model.modality == "medical" and info.model.detector == "multi_ad"
    assert {"multi_ad", "patchcore"} <= set(info.model.detectors) and info.model.calibration_size >= 5
    listed = stack.gateway.ListServices(gateway_pb2.ListServicesRequest()).services
    assert [(s.name, s.ready) for s in listed] == [("medical", True)]


def test_dicom_input_with_dicom_seg(stack: SimpleNamespace) -> None:
    import highdicom as hd
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        pytest.skip("pydicom's CT_small.dcm test file is absent")
    data = open(path, "rb").read()  # noqa: SIM115
    request = upload(data, "CT_small.dcm", include_dicom_seg=True, overlay_slices=1)
    request.window.preset = pb.WINDOW_PRESET_ABDOMEN
    request.policy.alpha = 0.5  # flag the slice if it looks at all unusual, so the SEG has content to carry
    reply = stack.service.Detect(request, timeout=60)
    assert to_numpy(reply.slice_scores).shape == (1,) and to_numpy(reply.anomaly_map).shape == (128, 128, 1)
    seg = hd.seg.segread(io.BytesIO(reply.dicom_seg))
    source = pydicom.dcmread(path)
    assert seg.Modality == "SEG" and seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    assert seg.Rows == source.Rows and seg.Columns == source.Columns
    assert len(reply.overlays) == 1


def test_rest_upload_nifti_and_dicom(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    import nibabel as nib
    from pydicom.data import get_testdata_file

    files = {"file": ("brain.nii.gz", brain.nifti, "application/gzip")}
    reply = httpx.post(f"{stack.http}/v1/medical/detect/file", files=files, params={"overlays": 2, "rule": "bh"},
                       timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["filename"] == "brain.nii.gz" and body["shape"] == [] and len(body["slice_scores"]) == 48
    assert body["rule"] == "DECISION_RULE_BENJAMINI_HOCHBERG"
    assert {"score", "p_value", "anomalous"} <= set(body["volume"])
    image = nib.Nifti1Image.from_bytes(gzip.decompress(base64.b64decode(body["nifti_map_base64"])))
    assert image.shape == brain.stored.shape
    np.testing.assert_allclose(image.affine, brain.affine, atol=1e-5)
    assert len(body["overlays"]) == 2 and base64.b64decode(body["overlays"][0]["png_base64"])[:4] == b"\x89PNG"
    path = get_testdata_file("MR_small.dcm", download=False)
    if path is not None:
        raw = httpx.post(f"{stack.http}/v1/medical/detect/file", content=open(path, "rb").read(),  # noqa: SIM115
                         params={"filename": "MR_small.dcm", "overlays": 0}, timeout=60)
        assert raw.status_code == 200, raw.text
        assert len(raw.json()["slice_scores"]) == 1 and raw.json()["overlays"] == []
    generic = httpx.post(f"{stack.http}/v1/medical/detect", timeout=60, json={
        "study": {"upload": {"data": base64.b64encode(brain.nifti).decode(), "filename": "b.nii.gz"}},
        "outputs": {"omitAnomalyMap": True}})
    assert generic.status_code == 200, generic.text


def _bad_requests(brain: SimpleNamespace) -> list[tuple[pb.DetectRequest, str, str]]:
    four_d = nifti_bytes(np.zeros((8, 8, 8, 3), np.float32), np.eye(4))
    nan = brain.ras.copy()
    nan[3, 3, 3] = np.nan
    dicom_seg_on_nifti = upload(brain.nifti, "b.nii.gz", include_dicom_seg=True)
    bad_window = upload(brain.nifti, "b.nii.gz")
    bad_window.window.CopyFrom(pb.Window(center=40, width=-5))
    return [
        (upload(b"hello, not an image", "x.bin"), "study.upload.data", "not DICOM"),
        (upload(b"", "empty.nii"), "study.upload.data", "empty"),
        (upload(four_d, "4d.nii.gz"), "study.upload.data", "4-D"),
        (upload(brain.nifti[: len(brain.nifti) // 2], "cut.nii.gz"), "study.upload.data", ""),
        (pb.DetectRequest(study=pb.Study(volume=pb.VolumeTensor(values=from_numpy(nan)))), "study.volume.values",
         "NaN"),
        (pb.DetectRequest(), "study", "expected an upload"),
        (dicom_seg_on_nifti, "outputs.include_dicom_seg", "needs DICOM input"),
        (bad_window, "window.width", "width must be > 0"),
        (upload(brain.nifti, "b.nii.gz", overlay_slices=99), "outputs.overlay_slices", "limit"),
    ]


def test_bad_inputs_are_invalid_argument(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    for request, field, fragment in _bad_requests(brain):
        for call in (lambda r: stack.service.Detect(r, timeout=30),
                     lambda r: stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(r)), timeout=30)):
            with pytest.raises(grpc.RpcError) as caught:
                call(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, caught.value.details())
            assert fragment in caught.value.details(), (fragment, caught.value.details())
    big = pb.DetectRequest(study=pb.Study(volume=pb.VolumeTensor(values=from_numpy(np.zeros((100, 100, 40), "f4")))))
    with pytest.raises(grpc.RpcError) as caught:  # well formed but over the size limit
        stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(big)), timeout=30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
    assert "the limits are 300000 voxels" in caught.value.details()
    bad = httpx.post(f"{stack.http}/v1/medical/detect/file", content=b"GIF89a....", params={"filename": "x.gif"},
                     timeout=30)
    assert bad.status_code == 400 and "not DICOM" in bad.json()["error"]["message"]
    assert "study.upload.data" in json.dumps(bad.json())
    empty = httpx.post(f"{stack.http}/v1/medical/detect/file", content=b"", timeout=30)
    assert empty.status_code == 400 and "file" in empty.json()["error"]["message"]
    window = httpx.post(f"{stack.http}/v1/medical/detect/file", content=brain.nifti, params={"window": "kidney"},
                        timeout=30)
    assert window.status_code == 400 and "unknown preset 'kidney'" in window.json()["error"]["message"]


def test_fit_from_studies(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    config = json.dumps({**TINY, "kd_steps": 4, "disc_steps": 2})
    studies = [pb.Study(upload=pb.Upload(data=brain.nifti, filename="a.nii.gz")),
               pb.Study(volume=pb.VolumeTensor(values=from_numpy(brain.ras[:, :, ::-1].copy()), spacing=[4, 4, 4]))]
    fitted = stack.service.Fit(pb.FitRequest(studies=studies, config_json=config, calibration_fraction=0.5),
                               timeout=120)
    assert fitted.model.detector == "multi_ad" and json.loads(fitted.model.config_json)["image_size"] == 64
    assert fitted.model.calibration_size > 10, "the second study is the calibration set"
    request = upload(brain.nifti, "b.nii.gz")
    request.model.version = fitted.model.version
    assert stack.service.Detect(request, timeout=60).model.version == fitted.model.version
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "studies is empty" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(studies=[pb.Study(upload=pb.Upload(data=b"nope"))]), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "studies[0].upload.data" in \
        caught.value.details()


def test_kserve_v2_slices_equal_native_detect(stack: SimpleNamespace, brain: SimpleNamespace) -> None:
    import tritonclient.grpc as tgrpc

    from gateway.modalities.medical import _to_slices

    slices = _to_slices(brain.ras)  # (Z, H, W) display orientation
    client = tgrpc.InferenceServerClient(stack.gateway_address)
    try:
        meta = client.get_model_metadata("medical-multi_ad", as_json=True)
        assert [(t["name"], t["datatype"]) for t in meta["inputs"]] == [("slices", "FP32")]
        tensor = tgrpc.InferInput("slices", list(slices.shape), "FP32")
        tensor.set_data_from_numpy(slices)
        result = client.infer("medical-multi_ad", [tensor])
    finally:
        client.close()
    native = stack.service.Detect(pb.DetectRequest(study=pb.Study(volume=pb.VolumeTensor(
        values=from_numpy(brain.ras)))), timeout=60)
    np.testing.assert_allclose(result.as_numpy("scores"), to_numpy(native.slice_scores), rtol=1e-5)
    assert result.as_numpy("anomaly_map").shape == slices.shape
    np.testing.assert_allclose(result.as_numpy("anomaly_map"), _to_slices(to_numpy(native.anomaly_map)), rtol=1e-5)


def test_cli_score_prints_slices_and_writes_map_and_overlays(stack: SimpleNamespace, brain: SimpleNamespace,
                                                             tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import argparse

    import nibabel as nib

    from services.medical import cli

    study = tmp_path / "brain.nii.gz"
    study.write_bytes(brain.nifti)
    out = tmp_path / "maps"
    args = argparse.Namespace(files=[str(study)], gateway=stack.gateway_address, rule="alpha", alpha=0.01,
                              json=True, timeout=60.0, window="", out_dir=str(out), overlays=2, dicom_seg=False)
    assert cli.score(args) == 0
    report = json.loads(capsys.readouterr().out)[0]
    assert len(report["slices"]) > 10 and {"index", "score", "p_value", "anomalous"} <= set(report["slices"][0])
    image = nib.load(str(out / "brain.anomaly_map.nii.gz"))
    assert image.shape == brain.stored.shape and np.allclose(image.affine, brain.affine, atol=1e-5)
    assert len(list(out.glob("brain.slice*.png"))) == 2
