"""The traffic service over real loopback gRPC: Detect, StreamDetect, Recommend, Fit, GetModelInfo, and the gateway
(gRPC ``other`` arm, REST snapshots, KServe v2). Data: SUMO cologne1 runs recorded once per module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import any_pb2

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.traffic.v1 import traffic_pb2 as pb
from polyad.traffic.v1 import traffic_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from tests.contract.traffic_case import SMALL_CONFIGS, recorded
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

pytest.importorskip("libsumo")
CONFIG = SMALL_CONFIGS["traffic.pu_gat"]
BY = common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI, alpha=0.05)
BH = common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG, alpha=0.05)


def snapshots(readings: np.ndarray, times: np.ndarray, missing: np.ndarray | None = None) -> pb.Snapshots:
    message = pb.Snapshots(readings=from_numpy(readings.astype(np.float32)), times=from_numpy(times))
    if missing is not None:
        message.missing.CopyFrom(from_numpy(missing))
    return message


def packed(message) -> any_pb2.Any:  # type: ignore[no-untyped-def]
    out = any_pb2.Any()
    out.Pack(message)
    return out


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    from services.traffic.sim.runner import simulate

    normal, test, graph = recorded(0)
    calibration = simulate("cologne1", seconds=1200.0, seed=99, scale=1.2)
    return SimpleNamespace(normal=normal, test=test, graph=graph, calibration=calibration)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          data: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.traffic.batch import SensorBatch
    from services.traffic.config import TrafficSettings
    from services.traffic.control.persist import agent_state
    from services.traffic.defaults import train_controller
    from services.traffic.detectors.pu_gat import PUGATDetector

    root = tmp_path_factory.mktemp("traffic-store")
    normal, graph = data.normal, data.graph
    detector = PUGATDetector({**CONFIG, "sensors": list(graph.sensors)})
    agent, meta = train_controller("cologne1", seconds=120, seeds=(7,), steps=60, hidden=16, members=2)
    detector.attach_controller(agent_state(agent), meta)
    fit_and_store(ModelStore(root), "traffic", detector,
                  SensorBatch(normal.readings, normal.times, adjacency=graph.adjacency),
                  SensorBatch(data.calibration.readings, data.calibration.times))
    settings = TrafficSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                               min_fit_snapshots=60)
    service = loop_thread.run(start("traffic", settings))
    gateway = start_gateway(loop_thread, {"traffic": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
                              service=pb_grpc.TrafficServiceStub(direct), meta=meta,
                              http=f"http://127.0.0.1:{gateway.http_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def test_detect_flags_the_incident_edges(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    test = data.test
    level = common_pb2.DecisionPolicy(rule=common_pb2.DECISION_RULE_ALPHA, alpha=0.01)
    reply = stack.service.Detect(pb.DetectRequest(snapshots=snapshots(test.readings, test.times), policy=level,
                                                  context=from_numpy(data.normal.readings[-8:]), explain=True),
                                 timeout=60)
    decided = {name: stack.service.Detect(pb.DetectRequest(snapshots=snapshots(test.readings, test.times),
                                                           policy=policy), timeout=60).decisions
               for name, policy in (("by", BY), ("bh", BH))}
    assert decided["by"].rule == common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI
    assert not (to_numpy(decided["by"].anomalous) & ~to_numpy(decided["bh"].anomalous)).any(), "BY flags ⊆ BH's"
    t, n, f = test.readings.shape
    scores, p_values = to_numpy(reply.scores), to_numpy(reply.decisions.p_values)
    assert scores.shape == (t, n) and p_values.shape == (t * n,) and ((p_values > 0) & (p_values <= 1)).all()
    flagged = {(c.time_index, c.sensor) for c in reply.flagged}
    labelled = {(int(ti), data.graph.sensors[si]) for ti, si in np.argwhere(test.labels > 0)}
    base_rate = len(labelled) / (t * n)
    assert flagged and len(flagged & labelled) / len(flagged) >= 2 * base_rate, "flags concentrate on incidents"
    labels = test.labels.reshape(-1) > 0
    assert np.median(p_values[labels]) < np.median(p_values[~labels])
    mean, lower, upper = (to_numpy(getattr(reply.forecast, k)) for k in ("mean", "lower", "upper"))
    assert mean.shape == lower.shape == upper.shape == (t, n, f) and (lower <= upper).all()
    assert reply.forecast.nominal_coverage == pytest.approx(0.9) and len(reply.forecast.coverage) == f
    assert to_numpy(reply.propagation).shape == (t, n)
    assert reply.model.detector == "pu_gat"


def test_stream_matches_batch_keeps_online_coverage_and_survives_bad_messages(stack: SimpleNamespace,
                                                                              data: SimpleNamespace) -> None:
    test = data.test
    chunks = np.array_split(np.arange(40), 4)
    bad_nan = test.readings[chunks[1]].copy()
    bad_nan[0, 2, 1] = np.nan
    requests = [pb.StreamDetectRequest(stream_id="a", snapshots=snapshots(test.readings[chunks[0]],
                                                                        test.times[chunks[0]]), adapt=True),
                pb.StreamDetectRequest(stream_id="a", snapshots=snapshots(bad_nan, test.times[chunks[1]])),
                pb.StreamDetectRequest(stream_id="a", snapshots=snapshots(test.readings[chunks[0][:2]],
                                                                        test.times[chunks[0][:2]])),
                pb.StreamDetectRequest(stream_id="a", snapshots=snapshots(test.readings[chunks[1], :5],
                                                                        test.times[chunks[1]]))]
    requests += [pb.StreamDetectRequest(stream_id="a", snapshots=snapshots(test.readings[c], test.times[c]),
                                        adapt=True, close=k == 3) for k, c in enumerate(chunks) if k > 0]
    replies = list(stack.service.StreamDetect(iter(requests), timeout=60))
    assert len(replies) == len(requests)
    assert replies[1].error.field == "readings" and "missing" in replies[1].error.reason
    assert replies[2].error.field == "times" and "goes back" in replies[2].error.reason
    assert replies[3].error.field == "readings" and "graph has 10" in replies[3].error.reason
    good = [r for r in replies if not r.HasField("error")]
    assert [r.offset for r in good] == [0, 10, 20, 30]
    streamed = np.concatenate([to_numpy(r.scores) for r in good])
    batch = stack.service.Detect(pb.DetectRequest(snapshots=snapshots(test.readings[:40], test.times[:40])),
                                 timeout=60)
    np.testing.assert_allclose(streamed, to_numpy(batch.scores), rtol=1e-4, atol=1e-4)
    coverage = good[-1].forecast.coverage
    assert len(coverage) == 4 and all(0.5 < c <= 1.0 for c in coverage)


def test_missing_sensors_are_never_flagged(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    test = data.test
    readings = test.readings[:30].copy()
    missing = np.zeros(readings.shape[:2], bool)
    missing[:, 3] = True
    readings[:, 3] = np.nan
    reply = stack.service.Detect(pb.DetectRequest(snapshots=snapshots(readings, test.times[:30], missing),
                                                  policy=common_pb2.DecisionPolicy(alpha=0.5)), timeout=30)
    p_values = to_numpy(reply.decisions.p_values).reshape(30, -1)
    assert (p_values[:, 3] == 1.0).all() and not any(c.sensor == data.graph.sensors[3] for c in reply.flagged)


@pytest.mark.parametrize(("mutate", "field", "fragment"), [
    (lambda r, t: (r[:, :9], t), "readings", "9 sensors"),
    (lambda r, t: (np.where(np.arange(r.size).reshape(r.shape) == 7, np.inf, r), t), "readings", "not finite"),
    (lambda r, t: (r, t[::-1].copy()), "times", "backwards"),
    (lambda r, t: (r[..., :3], t), "readings", "expects 4"),
])
def test_bad_inputs_are_invalid_argument(stack: SimpleNamespace, data: SimpleNamespace, mutate, field: str,
                                         fragment: str) -> None:  # type: ignore[no-untyped-def]
    readings, times = mutate(data.test.readings[:12].copy(), data.test.times[:12].copy())
    request = pb.DetectRequest(snapshots=snapshots(readings, times))
    for call in (lambda r: stack.service.Detect(r, timeout=30),
                 lambda r: stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(r)), timeout=30)):
        with pytest.raises(grpc.RpcError) as caught:
            call(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert fragment in caught.value.details(), caught.value.details()


def test_recommend_is_safe_filtered_and_checked(stack: SimpleNamespace) -> None:
    meta = stack.meta
    states = [pb.IntersectionState(id=i, phase=0, min_green_elapsed=True, density=[0.3] * lanes,
                                   queue=[0.2] * lanes) for i, lanes in zip(meta["intersections"], meta["lanes"],
                                                                            strict=True)]
    reply = stack.service.Recommend(pb.RecommendRequest(intersections=states), timeout=30)
    assert [r.id for r in reply.recommendations] == meta["intersections"]
    for r, phases in zip(reply.recommendations, meta["phases"], strict=True):
        assert 0 <= r.phase < phases and len(r.q_values) == phases
        assert r.lyapunov == pytest.approx(0.04 * meta["lanes"][0], rel=1e-4)
        assert r.bound == pytest.approx(r.lyapunov + meta["delta"], rel=1e-4)
        assert r.safe == (r.predicted_lyapunov <= r.bound)
    wrong = pb.IntersectionState(id=meta["intersections"][0], phase=0, density=[0.1], queue=[0.1])
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Recommend(pb.RecommendRequest(intersections=[wrong]), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "intersections[0].density" in \
        caught.value.details()


def test_model_info_fit_and_gateway(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert list(info.graph.sensors) == list(data.graph.sensors) and list(info.intersections)
    np.testing.assert_array_equal(to_numpy(info.graph.adjacency), data.graph.adjacency)
    normal = data.normal
    graph = pb.Graph(sensors=list(data.graph.sensors), features=["speed", "occupancy", "halting", "flow"],
                     adjacency=from_numpy(data.graph.adjacency))
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(snapshots=snapshots(normal.readings[:20], normal.times[:20]), graph=graph),
                          timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at least 60" in caught.value.details()
    fitted = stack.service.Fit(pb.FitRequest(snapshots=snapshots(normal.readings, normal.times), graph=graph,
                                             config_json=json.dumps(CONFIG)), timeout=120)
    assert fitted.model.version != info.model.version and next(iter(fitted.graph.features)) == "speed"
    test = data.test
    request = pb.DetectRequest(snapshots=snapshots(test.readings[:20], test.times[:20]), policy=BY)
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(request)), timeout=60)
    answer = pb.DetectResponse()
    assert reply.service == "traffic" and reply.other.Unpack(answer)
    body = {"readings": test.readings[:20].tolist(), "times": test.times[:20].tolist(), "explain": True}
    rest = httpx.post(f"{stack.http}/v1/traffic/detect/snapshots", json=body, timeout=60)
    assert rest.status_code == 200, rest.text
    assert np.allclose(rest.json()["scores"], to_numpy(answer.scores), atol=1e-4)
    assert rest.json()["rule"] == "DECISION_RULE_BENJAMINI_YEKUTIELI" and rest.json()["forecast"]["coverage"]
    bad = httpx.post(f"{stack.http}/v1/traffic/detect/snapshots", json={**body, "times": body["times"][:3]},
                     timeout=60)
    assert bad.status_code == 400
    v2 = {"inputs": [{"name": "readings", "datatype": "FP32", "shape": list(test.readings[:20].shape),
                      "data": test.readings[:20].reshape(-1).tolist()},
                     {"name": "times", "datatype": "FP64", "shape": [20], "data": test.times[:20].tolist()}]}
    kserve = httpx.post(f"{stack.http}/v2/models/traffic-pu_gat/infer", json=v2, timeout=60)
    assert kserve.status_code == 200, kserve.text
    outputs = {o["name"]: o for o in kserve.json()["outputs"]}
    assert outputs["scores"]["shape"] == [20, 10] and outputs["mean"]["shape"] == [20, 10, 4]
