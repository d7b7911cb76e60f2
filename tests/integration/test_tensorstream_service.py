"""The tensor-stream service over real loopback gRPC: Detect, StreamDetect, Fit, GetModelInfo, and the gateway
(gRPC ``other`` arm, stream, JSON-lines REST upload, KServe v2, ListServices)."""

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
from polyad.tensorstream.v1 import tensorstream_pb2 as pb
from polyad.tensorstream.v1 import tensorstream_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from services.tensorstream.batch import EventBatch
from services.tensorstream.codec import encode_jsonl
from tests.contract.tensorstream_case import SMALL_CONFIGS
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

CONFIG = SMALL_CONFIGS["tensorstream.heterocomp"]
WIDTH = CONFIG["window_seconds"]


def events_message(batch: EventBatch) -> pb.Events:
    """Columnar ``Events`` of a batch."""
    return pb.Events(
        times=from_numpy(batch.times.astype(np.float64)),
        categorical=[pb.CategoricalColumn(name=name, values=[str(v) for v in batch.categorical[:, j]])
                     for j, name in enumerate(batch.categorical_names)],
        continuous=[pb.ContinuousColumn(name=name, values=from_numpy(batch.continuous[:, j]))
                    for j, name in enumerate(batch.continuous_names)])


def packed(message) -> any_pb2.Any:  # type: ignore[no-untyped-def]
    out = any_pb2.Any()
    out.Pack(message)
    return out


@pytest.fixture(scope="module")
def data() -> SimpleNamespace:
    from tests.contract.tensorstream_case import case

    c = case(0)
    return SimpleNamespace(train=c.train, test=c.test, labels=c.labels)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          data: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.tensorstream.config import TensorStreamSettings
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector

    root = tmp_path_factory.mktemp("tensorstream-store")
    split = round(len(data.train) * 0.8)
    fit_and_store(ModelStore(root), "tensorstream", HeteroCompDetector(CONFIG), data.train.take(slice(0, split)),
                  data.train.take(slice(split, len(data.train))))
    settings = TensorStreamSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(),
                                    max_events=20_000, min_fit_events=200)
    service = loop_thread.run(start("tensorstream", settings))
    gateway = start_gateway(loop_thread, {"tensorstream": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw),
                              service=pb_grpc.TensorStreamServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}",
                              gateway_address=f"127.0.0.1:{gateway.grpc_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def test_detect_scores_events_and_windows(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    test = data.test
    reply = stack.service.Detect(pb.DetectRequest(events=events_message(test), explain=True), timeout=60)
    scores, p_values = to_numpy(reply.scores), to_numpy(reply.decisions.p_values)
    assert scores.shape == (len(test),) and ((p_values > 0) & (p_values <= 1)).all()
    windows = list(reply.windows)
    expected = np.unique(np.floor(test.times / WIDTH)).size
    assert len(windows) == expected and [w.index for w in windows] == sorted(w.index for w in windows)
    assert sum(w.event_count for w in windows) == len(test)
    assert all(w.window_seconds == WIDTH and to_numpy(w.decision.p_values).shape == (1,) for w in windows)
    evidence = reply.evidence
    assert to_numpy(evidence.component).shape == (len(test),)
    assert to_numpy(evidence.attribute_nll).shape == (len(test), len(evidence.attributes))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(data.labels > 0, scores) > 0.8, "group anomalies score above normal events"
    top = sorted(windows, key=lambda w: -w.score)[:3]
    anomalous = set(np.floor(test.times[data.labels > 0] / WIDTH).astype(int).tolist())
    assert all(w.index in anomalous for w in top), "the highest group scores are windows with injected groups"
    assert reply.model.detector == "heterocomp"


def _chunks(batch: EventBatch) -> list[EventBatch]:
    windows = np.floor(batch.times / WIDTH).astype(int)
    return [batch.take(idx) for idx in np.split(np.arange(len(batch)), np.flatnonzero(np.diff(windows)) + 1)]


def test_stream_detect_matches_batch_and_survives_a_bad_message(stack: SimpleNamespace, data: SimpleNamespace
                                                                ) -> None:
    test = data.test.take(slice(0, 1500))
    chunks = _chunks(test)
    bad = events_message(chunks[1])
    del bad.continuous[0]  # a missing attribute
    requests = [pb.StreamDetectRequest(stream_id="a", events=events_message(chunks[0])),
                pb.StreamDetectRequest(stream_id="b", events=events_message(chunks[0]), adapt=True),
                pb.StreamDetectRequest(stream_id="a", events=bad)]
    requests += [pb.StreamDetectRequest(stream_id="a", events=events_message(c)) for c in chunks[1:]]
    requests.append(pb.StreamDetectRequest(stream_id="a", close=True))
    replies = list(stack.service.StreamDetect(iter(requests), timeout=120))
    assert len(replies) == len(requests)
    error = replies[2]
    assert error.stream_id == "a" and error.error.field.startswith("events.continuous[")
    assert "missing" in error.error.reason and not error.HasField("scores")
    ours = [r for r in replies if r.stream_id == "a" and not r.HasField("error")]
    offsets = [r.offset for r in ours]
    assert offsets == [0, *np.cumsum([len(c) for c in chunks]).tolist()]
    streamed = np.concatenate([to_numpy(r.scores) for r in ours if r.HasField("scores")])
    batch = to_numpy(stack.service.Detect(pb.DetectRequest(events=events_message(test)), timeout=60).scores)
    np.testing.assert_allclose(streamed, batch, rtol=1e-4, atol=1e-4)
    closed = [w for r in ours for w in r.windows]
    assert [w.index for w in closed] == np.unique(np.floor(test.times / WIDTH)).astype(int).tolist()
    assert len(ours[-1].windows) == 1, "close flushes the last window"
    assert all(0 < to_numpy(w.decision.p_values)[0] <= 1 for w in closed)


def test_stream_time_going_back_is_rejected_and_stream_continues(stack: SimpleNamespace,
                                                                 data: SimpleNamespace) -> None:
    chunks = _chunks(data.test.take(slice(0, 600)))
    late = chunks[0].take(slice(0, 3))
    requests = [pb.StreamDetectRequest(stream_id="s", events=events_message(chunks[1])),
                pb.StreamDetectRequest(stream_id="s", events=events_message(late)),
                pb.StreamDetectRequest(stream_id="s", events=pb.Events(jsonl=b'{"time": 1}\n')),
                pb.StreamDetectRequest(stream_id="s", events=events_message(chunks[2]), close=True)]
    replies = list(stack.service.StreamDetect(iter(requests), timeout=60))
    assert replies[1].error.field == "events[0].time" and "goes back" in replies[1].error.reason
    assert replies[2].error.field.startswith("events[0].") and "missing" in replies[2].error.reason
    assert replies[3].offset == len(chunks[1]) and to_numpy(replies[3].scores).shape == (len(chunks[2]),)
    assert len(replies[3].windows) == 2


def test_gateway_any_arm_stream_and_list(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    test = data.test.take(slice(0, 800))
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(pb.DetectRequest(
        events=pb.Events(jsonl=encode_jsonl(test))))), timeout=60)
    assert reply.service == "tensorstream"
    answer = pb.DetectResponse()
    assert reply.other.Unpack(answer)
    direct = stack.service.Detect(pb.DetectRequest(events=events_message(test)), timeout=60)
    np.testing.assert_allclose(to_numpy(answer.scores), to_numpy(direct.scores), rtol=1e-5)
    requests = [gateway_pb2.StreamDetectRequest(other=packed(pb.StreamDetectRequest(
        stream_id="g", events=events_message(c), close=i == 2))) for i, c in enumerate(_chunks(test)[:3])]
    streamed = list(stack.gateway.StreamDetect(iter(requests), timeout=60))
    parts = [pb.StreamDetectResponse() for _ in streamed]
    assert all(r.other.Unpack(p) for r, p in zip(streamed, parts, strict=True))
    sizes = [len(c) for c in _chunks(test)[:2]]
    assert [p.offset for p in parts] == [0, *np.cumsum(sizes).tolist()] and sum(len(p.windows) for p in parts) == 3
    listed = stack.gateway.ListServices(gateway_pb2.ListServicesRequest()).services
    assert [(s.name, s.ready) for s in listed] == [("tensorstream", True)]


def test_rest_jsonl_upload(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    test = data.test.take(slice(0, 1000))
    body = encode_jsonl(test)
    reply = httpx.post(f"{stack.http}/v1/tensorstream/detect/jsonl", content=body, params={"rule": "bh"},
                       headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["events"] == 1000 and len(answer["scores"]) == 1000
    assert answer["rule"] == "DECISION_RULE_BENJAMINI_HOCHBERG" and answer["windows"]
    assert {"index", "score", "p_value", "component", "anomalous"} <= set(answer["windows"][0])
    files = {"file": ("events.jsonl", body, "application/x-ndjson")}
    upload = httpx.post(f"{stack.http}/v1/tensorstream/detect/jsonl", files=files, timeout=60)
    assert upload.status_code == 200 and upload.json()["scores"] == answer["scores"]
    lines = body.decode().splitlines()
    broken = json.loads(lines[5])
    broken["bytes"] = "many"
    lines[5] = json.dumps(broken)
    bad = httpx.post(f"{stack.http}/v1/tensorstream/detect/jsonl", content="\n".join(lines).encode(), timeout=60)
    assert bad.status_code == 400 and "event 5" in bad.json()["error"]["message"]
    assert "'bytes'" in bad.json()["error"]["message"]
    empty = httpx.post(f"{stack.http}/v1/tensorstream/detect/jsonl", content=b"\n", timeout=60)
    assert empty.status_code == 400
    import base64

    generic = httpx.post(f"{stack.http}/v1/tensorstream/detect",
                         json={"events": {"jsonl": base64.b64encode(body).decode()}}, timeout=60)
    assert generic.status_code == 200, generic.text


def _bad_requests(test: EventBatch) -> list[tuple[pb.DetectRequest, str]]:
    missing = events_message(test)
    del missing.categorical[0]
    short = events_message(test)
    short.categorical[1].values.pop()
    nan = test.continuous.copy()
    nan[4, 0] = np.nan
    with_nan = events_message(EventBatch(test.times, test.categorical, nan, test.categorical_names,
                                         test.continuous_names))
    backwards = test.times.copy()
    backwards[7] -= 3600
    back = events_message(EventBatch(backwards, test.categorical, test.continuous, test.categorical_names,
                                     test.continuous_names))
    unknown = events_message(test)
    unknown.continuous.add(name="colour", values=from_numpy(np.zeros(len(test), np.float32)))
    both = events_message(test)
    both.jsonl = b'{"time": 0}'
    return [
        (pb.DetectRequest(events=missing), f"attribute {test.categorical_names[0]!r} is missing"),
        (pb.DetectRequest(events=short), f"categorical[{test.categorical_names[1]}]: {len(test) - 1} values"),
        (pb.DetectRequest(events=with_nan), f"event 4: continuous attribute {test.continuous_names[0]!r}"),
        (pb.DetectRequest(events=back), "event 7: time"),
        (pb.DetectRequest(events=unknown), "'colour' is not a continuous attribute"),
        (pb.DetectRequest(events=both), "either jsonl or the columns"),
        (pb.DetectRequest(events=pb.Events()), "events.times is missing"),
        (pb.DetectRequest(events=events_message(test), policy=common_pb2.DecisionPolicy(alpha=2.0)), "policy.alpha"),
    ]


def test_bad_inputs_are_invalid_argument(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    for request, fragment in _bad_requests(data.test.take(slice(0, 50))):
        for call in (lambda r: stack.service.Detect(r, timeout=30),
                     lambda r: stack.gateway.Detect(gateway_pb2.DetectRequest(other=packed(r)), timeout=30)):
            with pytest.raises(grpc.RpcError) as caught:
                call(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fragment
            assert fragment in caught.value.details(), (fragment, caught.value.details())


def test_model_info_and_fit(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert info.model.detector == "heterocomp" and info.model.modality == "tensorstream"
    attributes = [(a.name, a.type) for a in info.schema.attributes]
    assert attributes == [(n, pb.ATTRIBUTE_TYPE_CATEGORICAL) for n in data.train.categorical_names] + \
        [(n, pb.ATTRIBUTE_TYPE_CONTINUOUS) for n in data.train.continuous_names]
    assert info.model.calibration_size > 100
    train = data.train.take(slice(0, 4000))
    config = json.dumps({**CONFIG, "n_components": 3})
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(events=pb.Events(jsonl=encode_jsonl(train)), config_json=config), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "schema is required" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(events=events_message(train.take(slice(0, 20)))), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at least 200" in caught.value.details()
    fitted = stack.service.Fit(pb.FitRequest(events=pb.Events(jsonl=encode_jsonl(train)), schema=info.schema,
                                             config_json=config), timeout=120)
    assert fitted.model.version != info.model.version and json.loads(fitted.model.config_json)["n_components"] == 3
    assert [a.name for a in fitted.schema.attributes] == [a.name for a in info.schema.attributes]
    columnar = stack.service.Fit(pb.FitRequest(events=events_message(train), config_json=config), timeout=120)
    request = pb.DetectRequest(events=events_message(data.test.take(slice(0, 200))))
    request.model.version = columnar.model.version
    assert to_numpy(stack.service.Detect(request, timeout=60).scores).shape == (200,)


def test_kserve_v2_model_equals_native_detect(stack: SimpleNamespace, data: SimpleNamespace) -> None:
    import tritonclient.grpc as tgrpc

    test = data.test.take(slice(0, 300))
    lines = encode_jsonl(test).splitlines()
    client = tgrpc.InferenceServerClient(stack.gateway_address)
    try:
        meta = client.get_model_metadata("tensorstream-heterocomp", as_json=True)
        assert [(t["name"], t["datatype"]) for t in meta["inputs"]] == [("events", "BYTES")]
        tensor = tgrpc.InferInput("events", [len(lines)], "BYTES")
        tensor.set_data_from_numpy(np.array(lines, dtype=object))
        result = client.infer("tensorstream-heterocomp", [tensor])
    finally:
        client.close()
    native = stack.service.Detect(pb.DetectRequest(events=events_message(test)), timeout=60)
    np.testing.assert_allclose(result.as_numpy("scores"), to_numpy(native.scores), rtol=1e-5)
    assert result.as_numpy("window_index").tolist() == [w.index for w in native.windows]
