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
def channel(loop_thread: LoopThread, model_store: Path) -> Iterator[grpc.Channel]:
    service = start_timeseries(loop_thread, model_store, max_points=MAX_POINTS)
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as chan:
        yield chan
    loop_thread.run(service.stop())


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
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_invalid_argument_and_service_keeps_serving(
    stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray, case: str
) -> None:
    tensor, fragment = BAD_INPUTS[case]
    with pytest.raises(grpc.RpcError) as caught:
        stub.Detect(pb.DetectRequest(series=[pb.Series(values=tensor)]), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in caught.value.details() and "series[0].values" in caught.value.details()
    trailer = dict(caught.value.trailing_metadata())[ERROR_DETAIL_KEY]
    assert common_pb2.ErrorDetail.FromString(trailer).field == "series[0].values"
    assert stub.Detect(pb.DetectRequest(series=[_series(normal_series[:50])]), timeout=10).results


def test_other_request_errors(stub: pb_grpc.TimeSeriesServiceStub, normal_series: np.ndarray) -> None:
    cases = [
        (pb.DetectRequest(), grpc.StatusCode.INVALID_ARGUMENT, "at least one series"),
        (pb.DetectRequest(series=[_series(normal_series[:50])], policy=common_pb2.DecisionPolicy(alpha=2.0)),
         grpc.StatusCode.INVALID_ARGUMENT, "alpha"),
        (pb.DetectRequest(series=[_series(normal_series[:50])], model=common_pb2.ModelRef(detector="nope")),
         grpc.StatusCode.INVALID_ARGUMENT, "known: comet"),
        (pb.DetectRequest(series=[_series(normal_series[:50])], model=common_pb2.ModelRef(version="v0")),
         grpc.StatusCode.NOT_FOUND, "no version"),
    ]
    for request, code, fragment in cases:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Detect(request, timeout=10)
        assert caught.value.code() == code and fragment in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Fit(pb.FitRequest(values=from_numpy(normal_series[:500]), config_json='{"window": "x"}'), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "window" in caught.value.details()
