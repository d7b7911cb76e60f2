"""Conformal calibration of the vision service is exchangeable with new images (issue 17, item 3).

Through real loopback gRPC: ``Fit`` gets normal brick crops followed by calibration crops cut from a region of
the texture that no training crop touches (the trailing share is the calibration set, as for any user's
images); ``Detect`` at alpha then judges 200 fresh normal crops from a third disjoint region. The number
flagged must stay within the one-sided 99.9 % binomial bound for ``Binomial(200, alpha)``. The same check
on a model calibrated with crops from the training region (sharing its pixels: the old default) breaks the
bound, so the check can fail.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from PIL import Image
from scipy import stats

from polyad.common.v1 import common_pb2
from polyad.vision.v1 import vision_pb2 as pb
from polyad.vision.v1 import vision_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.responses import RULES_BY_NAME
from services.vision.data import REGIONS, normal_crops
from tests.support.loop import LoopThread

SIZE, N_FIT, N_CAL, N_FRESH, ALPHA = 64, 32, 199, 200, 0.1
CONFIG = {"image_size": SIZE, "layers": [0], "coreset_ratio": 0.05}
BOUND = int(stats.binom.ppf(0.999, N_FRESH, ALPHA))  # 34 of 200


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def service(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pb_grpc.VisionServiceStub]:
    from services.core.app import start
    from services.vision.config import VisionSettings

    root = tmp_path_factory.mktemp("vision-calibration-store")
    settings = VisionSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(), image_size=SIZE)
    server = loop_thread.run(start("vision", settings))
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.VisionServiceStub(channel)
    loop_thread.run(server.stop())


def false_positives(stub: pb_grpc.VisionServiceStub, calibration_region: str) -> int:
    """Fit PatchCore on training-region crops + ``calibration_region`` crops; count fresh normal crops flagged."""
    fit = normal_crops("brick", "train", N_FIT, size=SIZE, seed=0)
    calibration = normal_crops("brick", calibration_region, N_CAL, size=SIZE, seed=1)
    request = pb.FitRequest(images=[pb.Image(encoded=png(a)) for a in np.concatenate([fit, calibration])],
                            detector="patchcore", config_json=json.dumps(CONFIG),
                            calibration_fraction=N_CAL / (N_FIT + N_CAL))
    info = stub.Fit(request, timeout=300).model
    assert info.calibration_size == N_CAL
    fresh = normal_crops("brick", "fresh", N_FRESH, size=SIZE, seed=2)
    policy = common_pb2.DecisionPolicy(rule=RULES_BY_NAME["alpha"], alpha=ALPHA)
    flagged = 0
    for start in range(0, N_FRESH, 50):
        images = [pb.Image(encoded=png(a)) for a in fresh[start : start + 50]]
        request = pb.DetectRequest(images=images, policy=policy, omit_anomaly_map=True,
                                   model=common_pb2.ModelRef(detector="patchcore", version=info.version))
        reply = stub.Detect(request, timeout=120)
        flagged += sum(r.anomalous for r in reply.results)
    return flagged


def test_regions_share_no_pixel() -> None:
    boxes = {name: REGIONS[name] for name in ("train", "calibration", "fresh")}
    for a, ((ra, ca)) in boxes.items():
        for b, ((rb, cb)) in boxes.items():
            if a < b:
                assert ra[1] <= rb[0] or rb[1] <= ra[0] or ca[1] <= cb[0] or cb[1] <= ca[0], (a, b)


def test_false_positive_rate_on_fresh_normal_images_is_within_the_binomial_bound(
    service: pb_grpc.VisionServiceStub,
) -> None:
    flagged = false_positives(service, "calibration")
    assert flagged <= BOUND, f"{flagged}/{N_FRESH} fresh normal crops flagged at alpha={ALPHA}; bound {BOUND}"


def test_calibrating_on_the_training_region_breaks_the_bound(service: pb_grpc.VisionServiceStub) -> None:
    flagged = false_positives(service, "train")
    assert flagged > BOUND, f"in-sample calibration flagged only {flagged}/{N_FRESH}: the check has no power"
