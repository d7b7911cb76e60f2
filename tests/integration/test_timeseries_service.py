"""The time-series service over real loopback gRPC (inline backend): detect, stream, fit, info, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from polyad.common.v1 import common_pb2
from polyad.timeseries.v1 import timeseries_pb2 as pb
from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import ERROR_DETAIL_KEY
from tests.support.loop import LoopThread
from tests.support.services import start_timeseries

MAX_POINTS = 50_000


@pytest.fixture(scope="module")
def address(loop_thread: LoopThread, model_store: Path) -> Iterator[str]:
    service = start_timeseries(loop_thread, model_store, max_points=MAX_POINTS)
    yield f"127.0.0.1:{service.port}"
    loop_thread.run(service.stop())


@pytest.fixture(scope="module")
def channel(address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(address) as chan:
        yield chan


@pytest.fixture()
def stub(channel: grpc.Channel) -> pb_grpc.TimeSeriesServiceStub:
    return pb_grpc.TimeSeriesServiceStub(channel)


def _series(values: np.ndarray, name: str = "s") -> pb.Series:
    return pb.Series(id=name, values=from_numpy(values))


def test_health_reports_serving(channel: grpc.Channel) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="polyad.timeseries.v1.TimeSeriesService"), timeout=5
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_detect_flags_an_injected_spike(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    test = normal_series[:600].copy()
    test[300:310] += 6.0
    reply = stub.Detect(pb.DetectRequest(series=[_series(test, "spiky"), _series(normal_series[:100, :])]), timeout=30)
    first, second = reply.results
    scores = to_numpy(first.scores)
    p_values = to_numpy(first.decisions.p_values)
    flags = to_numpy(first.decisions.anomalous)
    assert scores.shape == (600,) and p_values.shape == (600,) and flags.dtype == bool
    assert first.id == "spiky" and second.id == "s" and to_numpy(second.scores).shape == (100,)
    assert scores[300:310].mean() > np.percentile(scores, 90)
    assert flags[300:310].any()
    assert any(region.start <= 309 and region.end >= 300 for region in first.regions)
    assert reply.model.detector == "comet" and reply.model.version


def test_bh_flags_no_more_than_alpha(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    def flagged(rule: int) -> int:
        policy = common_pb2.DecisionPolicy(rule=rule, alpha=0.05)
        reply = stub.Detect(pb.DetectRequest(series=[_series(normal_series[:500])], policy=policy), timeout=30)
        assert reply.results[0].decisions.rule == rule
        return int(to_numpy(reply.results[0].decisions.anomalous).sum())

    assert flagged(common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG) <= flagged(common_pb2.DECISION_RULE_ALPHA)


def test_stream_keeps_interleaved_streams_apart(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    chunks = [normal_series[i:i + 10] for i in range(0, 200, 10)]

    def requests() -> Iterator[pb.StreamDetectRequest]:
        for index, chunk in enumerate(chunks):
            for stream_id in ("a", "b"):
                yield pb.StreamDetectRequest(stream_id=stream_id, points=from_numpy(chunk), adapt=stream_id == "b",
                                             close=index == len(chunks) - 1)

    replies = list(stub.StreamDetect(requests(), timeout=60))
    by_stream: dict[str, list[pb.StreamDetectResponse]] = {"a": [], "b": []}
    for reply in replies:
        by_stream[reply.stream_id].append(reply)
    for stream_id, items in by_stream.items():
        assert [r.offset for r in items] == list(range(0, 200, 10)), stream_id
        assert all(to_numpy(r.scores).shape == (10,) for r in items)


def test_fit_creates_a_new_latest_version(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    before = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    fitted = stub.Fit(pb.FitRequest(values=from_numpy(normal_series[:1200]),
                                    config_json='{"train_steps": 10, "window": 64, "patch_sizes": [8, 16], '
                                                '"d_model": 16, "n_heads": 2, "memory_size": 64}'), timeout=120).model
    assert fitted.version != before.version and fitted.calibration_size > 0
    after = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert after.version == fitted.version
    old = stub.GetModelInfo(pb.GetModelInfoRequest(model=common_pb2.ModelRef(version=before.version)), timeout=10)
    assert old.model.version == before.version and list(old.model.input_shape) == [-1, 2]


BAD_INPUTS = {
    "wrong dtype": (common_pb2.Tensor(dtype=common_pb2.DATA_TYPE_BOOL, shape=[4, 2], data=b"\1" * 8), "not accepted"),
    "NaN": (from_numpy(np.array([[0.0, 1.0], [np.nan, 1.0]], dtype=np.float32)), "NaN"),
    "inf": (from_numpy(np.array([[0.0, np.inf]], dtype=np.float64)), "infinite"),
    "empty": (from_numpy(np.zeros((0, 2), dtype=np.float32)), "empty"),
    "too long": (from_numpy(np.zeros((MAX_POINTS + 1, 2), dtype=np.float32)), "limit"),
    "3-D": (from_numpy(np.zeros((2, 2, 2), dtype=np.float32)), "dimensions"),
    "wrong channels": (from_numpy(np.zeros((10, 3), dtype=np.float32)), "trained on 2"),
    "short bytes": (common_pb2.Tensor(dtype=common_pb2.DATA_TYPE_FLOAT32, shape=[4, 2], data=b"\0" * 12), "bytes"),
    "missing": (common_pb2.Tensor(), "missing"),
    "one point": (from_numpy(np.zeros((1, 2), dtype=np.float32)), "needs at least 64 (its window)"),
    "shorter than the window": (from_numpy(np.zeros((63, 2), dtype=np.float32)), "has 63 time steps"),
}


OVER_LIMIT = {"too long"}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_invalid_argument_and_service_keeps_serving(
    stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray, case: str
) -> None:
    tensor, fragment = BAD_INPUTS[case]
    with pytest.raises(grpc.RpcError) as caught:
        stub.Detect(pb.DetectRequest(series=[pb.Series(values=tensor)]), timeout=10)
    over_limit = case in OVER_LIMIT  # well formed but too big: RESOURCE_EXHAUSTED (HTTP 413), naming the limit
    expected = grpc.StatusCode.RESOURCE_EXHAUSTED if over_limit else grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.code() == expected
    assert fragment in caught.value.details() and "series[0].values" in caught.value.details()
    trailer = dict(caught.value.trailing_metadata())[ERROR_DETAIL_KEY]
    assert common_pb2.ErrorDetail.FromString(trailer).field == "series[0].values"
    assert stub.Detect(pb.DetectRequest(series=[_series(normal_series[:64])]), timeout=10).results


def test_other_request_errors(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    cases = [
        (pb.DetectRequest(), grpc.StatusCode.INVALID_ARGUMENT, "at least one series"),
        (pb.DetectRequest(series=[_series(normal_series[:64])], policy=common_pb2.DecisionPolicy(alpha=2.0)),
         grpc.StatusCode.INVALID_ARGUMENT, "alpha"),
        (pb.DetectRequest(series=[_series(normal_series[:64])], model=common_pb2.ModelRef(detector="nope")),
         grpc.StatusCode.INVALID_ARGUMENT, "known: comet"),
        (pb.DetectRequest(series=[_series(normal_series[:64])], model=common_pb2.ModelRef(version="v0")),
         grpc.StatusCode.NOT_FOUND, "no version"),
    ]
    for request, code, fragment in cases:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Detect(request, timeout=10)
        assert caught.value.code() == code and fragment in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Fit(pb.FitRequest(values=from_numpy(normal_series[:500]), config_json='{"window": "x"}'), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "window" in caught.value.details()


def test_stream_p_values_use_stream_mode_calibration(
    stub: pb_grpc.TimeSeriesServiceStub, model_store: Path, normal_series: np.ndarray
) -> None:
    """Stream p-values rank stream scores among stream-mode (last-window) calibration scores, not the
    overlap-averaged batch ones; warm-up points (the first W - 1) score 0.0."""
    from services.core.calibration import ConformalCalibrator
    from services.core.store import ModelStore
    from services.timeseries.detectors.comet import CometDetector

    store = ModelStore(model_store)
    stored = store.versions("timeseries", "comet")[0]  # the session's model (a test here fits newer ones)
    stored = store.resolve("timeseries", "comet", stored)
    _, calibrator = store.load(stored, CometDetector)
    assert calibrator.stream_ is not None and calibrator.stream_.size > 0
    assert not np.array_equal(calibrator.stream_.scores_, calibrator.scores_)
    chunks = [normal_series[i : i + 40] for i in range(0, 400, 40)]
    replies = list(stub.StreamDetect(iter(
        pb.StreamDetectRequest(stream_id="s", points=from_numpy(c), model=common_pb2.ModelRef(version=stored.version))
        for c in chunks), timeout=60))
    scores = np.concatenate([to_numpy(r.scores) for r in replies])
    p_values = np.concatenate([to_numpy(r.decisions.p_values) for r in replies])
    assert (scores[:63] == 0.0).all()
    np.testing.assert_allclose(p_values, calibrator.stream_p_values(scores))
    batch_only = ConformalCalibrator(calibrator.scores_)
    assert not np.allclose(p_values, batch_only.p_values(scores))


def test_rest_short_series_is_400_naming_the_window(loop_thread: LoopThread, address: str) -> None:
    import httpx

    from tests.support.services import start_gateway

    gateway = start_gateway(loop_thread, {"timeseries": address})
    try:
        reply = httpx.post(f"http://127.0.0.1:{gateway.http_port}/v1/timeseries/detect",
                           json={"series": [{"values": [[1.0, 2.0]]}]}, timeout=30)
    finally:
        loop_thread.run(gateway.stop())
    assert reply.status_code == 400, reply.text
    assert "needs at least 64 (its window)" in reply.json()["error"]["message"]
