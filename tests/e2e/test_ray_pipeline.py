"""End to end over real loopback: client → gateway → time-series service → Ray Serve replica.

gRPC unary through the gateway, streaming against the service on the Ray backend, the REST proxy
(JSON and CSV upload), and bad input at every layer with everything still serving afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest

from polyad.common.v1 import common_pb2
from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.timeseries.v1 import timeseries_pb2 as pb
from polyad.timeseries.v1 import timeseries_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import ERROR_DETAIL_KEY
from tests.support.loop import LoopThread
from tests.support.services import start_gateway, start_timeseries

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, model_store: Path, ray_cluster: str) -> Iterator[SimpleNamespace]:
    backend = {"kind": "ray", "num_replicas": 1, "num_cpus": 0.5, "max_batch_size": 8, "ray_temp_dir": ray_cluster}
    service = start_timeseries(loop_thread, model_store, backend=backend, max_points=100_000)
    gateway = start_gateway(loop_thread, {"timeseries": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(
            gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
            service=pb_grpc.TimeSeriesServiceStub(direct),
            http=f"http://127.0.0.1:{gateway.http_port}",
        )
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def _detect(values: np.ndarray, **policy: object) -> gateway_pb2.DetectRequest:
    series = pb.Series(id="x", values=from_numpy(values))
    return gateway_pb2.DetectRequest(
        timeseries=pb.DetectRequest(series=[series], policy=common_pb2.DecisionPolicy(**policy))
    )


def test_unary_detect_through_gateway_on_ray(stack: SimpleNamespace, normal_series: np.ndarray) -> None:
    test = normal_series[:800].copy()
    test[400:420] = 3.0
    reply = stack.gateway.Detect(_detect(test), timeout=60)
    assert reply.service == "timeseries"
    scores = to_numpy(reply.timeseries.results[0].scores)
    assert scores.shape == (800,) and scores[400:420].mean() > np.percentile(scores, 95)
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert info.backend == "ray"


def test_ray_and_inline_scores_agree(stack: SimpleNamespace, model_store: Path, normal_series: np.ndarray) -> None:
    from services.core.store import ModelStore
    from services.timeseries.detectors.comet import CometDetector

    store = ModelStore(model_store)
    inline = CometDetector.load(store.resolve("timeseries", "comet").path)
    version = store.resolve("timeseries", "comet").version
    request = pb.DetectRequest(series=[pb.Series(values=from_numpy(normal_series[:300]))],
                               model=common_pb2.ModelRef(version=version))
    remote = to_numpy(stack.service.Detect(request, timeout=60).results[0].scores)
    np.testing.assert_allclose(remote, inline.score(normal_series[:300]), rtol=1e-5, atol=1e-6)


def test_streaming_on_ray_backend(stack: SimpleNamespace, normal_series: np.ndarray) -> None:
    def requests() -> Iterator[pb.StreamDetectRequest]:
        for start in range(0, 300, 25):
            for stream_id in ("left", "right"):
                yield pb.StreamDetectRequest(stream_id=stream_id, points=from_numpy(normal_series[start:start + 25]),
                                             adapt=True, policy=common_pb2.DecisionPolicy(
                                                 rule=common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI, alpha=0.05))

    replies = list(stack.service.StreamDetect(requests(), timeout=120))
    assert len(replies) == 24
    for stream_id in ("left", "right"):
        offsets = [r.offset for r in replies if r.stream_id == stream_id]
        assert offsets == list(range(0, 300, 25))
    assert all(to_numpy(r.decisions.p_values).shape == (25,) for r in replies)


def test_list_services(stack: SimpleNamespace) -> None:
    services = stack.gateway.ListServices(gateway_pb2.ListServicesRequest(), timeout=10).services
    assert [(s.name, s.ready) for s in services] == [("timeseries", True)]


def test_bad_input_through_gateway_then_still_serving(stack: SimpleNamespace, normal_series: np.ndarray) -> None:
    nan = normal_series[:50].copy()
    nan[3, 0] = np.nan
    with pytest.raises(grpc.RpcError) as caught:
        stack.gateway.Detect(_detect(nan), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "NaN" in caught.value.details()
    trailer = dict(caught.value.trailing_metadata())[ERROR_DETAIL_KEY]
    assert common_pb2.ErrorDetail.FromString(trailer).field == "series[0].values"  # forwarded by the gateway
    with pytest.raises(grpc.RpcError) as caught:
        stack.gateway.Detect(gateway_pb2.DetectRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "timeseries" in caught.value.details()
    assert stack.gateway.Detect(_detect(normal_series[:64]), timeout=30).timeseries.results


def test_rest_json_and_csv_upload(stack: SimpleNamespace, normal_series: np.ndarray) -> None:
    body = {"series": [{"id": "j", "values": normal_series[:200].tolist()}], "policy": {"rule": "bh", "alpha": 0.05}}
    reply = httpx.post(f"{stack.http}/v1/timeseries/detect", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    result = reply.json()["results"][0]
    assert result["id"] == "j" and len(result["scores"]) == 200 and len(result["p_values"]) == 200
    csv = "timestamp,a,b\n" + "\n".join(f"{i},{a:.5f},{b:.5f}" for i, (a, b) in enumerate(normal_series[:150]))
    reply = httpx.post(f"{stack.http}/v1/timeseries/detect/csv", files={"file": ("s.csv", csv, "text/csv")},
                       timeout=60)
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["results"][0]["scores"]) == 150
    reply = httpx.post(f"{stack.http}/v1/timeseries/detect/csv", files={"file": ("s.csv", "a,b\n1,x\n", "text/csv")},
                       timeout=10)
    assert reply.status_code == 400 and "error" in reply.json()
    reply = httpx.post(f"{stack.http}/v1/timeseries/detect", json={"series": [{"values": [[1.0, 2.0]] * 5 + [[1.0]]}]},
                       timeout=10)
    assert reply.status_code == 400, reply.text
    metrics = httpx.get(f"{stack.http}/metrics", timeout=10).text
    assert "polyad_requests_total" in metrics
    assert httpx.get(f"{stack.http}/readyz", timeout=10).status_code == 200


def test_a_killed_replica_is_replaced_and_nothing_else_goes_down(
    stack: SimpleNamespace, normal_series: np.ndarray
) -> None:
    import time

    import ray

    replicas = [a for a in ray.util.list_named_actors(all_namespaces=True) if "timeseries-comet" in a["name"]
                and "REPLICA" in a["name"].upper()]
    assert replicas, ray.util.list_named_actors(all_namespaces=True)
    ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]), no_restart=True)
    codes = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            reply = stack.gateway.Detect(_detect(normal_series[:200]), timeout=30)
            break
        except grpc.RpcError as error:  # while Serve replaces the replica: retryable UNAVAILABLE only
            codes.append(error.code())
            time.sleep(0.5)
    else:
        pytest.fail(f"no answer after the replica was killed; codes seen: {codes}")
    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}, codes
    assert to_numpy(reply.timeseries.results[0].scores).shape == (200,)
    assert stack.gateway.ListServices(gateway_pb2.ListServicesRequest(), timeout=10).services[0].ready


def test_streaming_through_the_gateway(stack: SimpleNamespace, normal_series: np.ndarray) -> None:
    spiky = normal_series[:400].copy()
    spiky[250:256] += 6.0

    def requests() -> Iterator[gateway_pb2.StreamDetectRequest]:
        for start in range(0, 400, 50):
            for stream_id, values in (("calm", normal_series[:400]), ("spiky", spiky)):
                message = pb.StreamDetectRequest(stream_id=stream_id, points=from_numpy(values[start:start + 50]))
                yield gateway_pb2.StreamDetectRequest(timeseries=message)

    replies = list(stack.gateway.StreamDetect(requests(), timeout=120))
    assert len(replies) == 16 and all(r.service == "timeseries" for r in replies)
    scores = {sid: np.concatenate([to_numpy(r.timeseries.scores) for r in replies if r.timeseries.stream_id == sid])
              for sid in ("calm", "spiky")}
    assert scores["spiky"].shape == (400,) and scores["spiky"][250:256].max() > scores["calm"][250:256].max() + 1.0
    with pytest.raises(grpc.RpcError) as caught:
        list(stack.gateway.StreamDetect(iter([gateway_pb2.StreamDetectRequest()]), timeout=10))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "timeseries" in caught.value.details()


def test_declared_serve_app_as_kuberay_deploys_it(model_store: Path, ray_cluster: str, loop_thread: LoopThread,
                                                  normal_series: np.ndarray) -> None:
    """The RayService path: Serve builds the app from the chart's declared config, the service attaches by name."""
    from ray import serve
    from ray.serve.schema import ServeDeploySchema

    from services.core.backends import BackendSettings, make_backend
    from services.core.backends.ray_serve import build_app
    from services.core.store import ModelStore
    from services.timeseries.detectors.comet import CometDetector

    declared = ServeDeploySchema.model_validate({"applications": [{  # the shape the Helm chart renders
        "name": "timeseries-declared", "route_prefix": None,
        "import_path": "services.core.backends.ray_serve:build_app",
        "args": {"service": "timeseries", "detector": "comet", "version": "latest", "store_root": str(model_store),
                 "backend": {"kind": "ray", "max_batch_size": 4, "torch_threads": 1}},
        "deployments": [{"name": "timeseries-comet", "num_replicas": 1, "ray_actor_options": {"num_cpus": 0.25}}],
    }]})
    app_config = declared.applications[0]
    serve.run(build_app(app_config.args), name=app_config.name, route_prefix=None)
    stored = ModelStore(model_store).resolve("timeseries", "comet")
    settings = BackendSettings(kind="ray", ray_serve_app="timeseries-declared", ray_temp_dir=ray_cluster)
    backend = make_backend(settings, stored, CometDetector)
    try:
        remote = loop_thread.run(backend.score(normal_series[:300]))
        np.testing.assert_allclose(remote, CometDetector.load(stored.path).score(normal_series[:300]),
                                   rtol=1e-5, atol=1e-6)
    finally:
        loop_thread.run(backend.close())  # attached, not owned: the declared app stays
        assert "timeseries-declared" in serve.status().applications
        serve.delete("timeseries-declared")
