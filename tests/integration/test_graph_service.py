"""The graph service over real loopback gRPC, through the gateway (gRPC, REST JSON and edge-list upload)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import numpy as np
import pytest

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from polyad.graph.v1 import graph_pb2 as pb
from polyad.graph.v1 import graph_pb2_grpc as pb_grpc
from services.core.backends import BackendSettings
from services.core.codecs import from_numpy, to_numpy
from tests.contract.graph_case import SMALL_CONFIGS
from tests.support.loop import LoopThread
from tests.support.services import start_gateway

CONFIG = SMALL_CONFIGS["graph.ego_diffusion"]


def message(x: np.ndarray, edges: np.ndarray, **extra: np.ndarray) -> pb.Graph:
    graph = pb.Graph(id="g", node_features=from_numpy(x), edge_index=from_numpy(edges))
    for name, value in extra.items():
        getattr(graph, name).CopyFrom(from_numpy(value))
    return graph


@pytest.fixture(scope="module")
def snapshots() -> SimpleNamespace:
    from services.graph.batch import union
    from services.graph.data import sbm

    data = sbm(n_nodes=300, n_snapshots=4, n_train=3, per_type=8, seed=0)
    return SimpleNamespace(train=union(data.snapshots[:3]), test=data.snapshots[3], previous=data.snapshots[2],
                           before=data.snapshots[1])


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory,
          snapshots: SimpleNamespace) -> Iterator[SimpleNamespace]:
    import torch

    from services.core.app import start
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.graph.config import GraphSettings
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
    from services.graph.experiments import calibration_split

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("graph-store")
    # fit on the first two snapshots, calibrate on the held-out third
    fit_and_store(ModelStore(root), "graph", EgoDiffusionDetector(CONFIG), *calibration_split(snapshots.train, 0.2, 0))
    settings = GraphSettings(address="127.0.0.1:0", store_root=str(root), backend=BackendSettings(), max_nodes=1000,
                             max_explain_top_k=20)
    service = loop_thread.run(start("graph", settings))
    gateway = start_gateway(loop_thread, {"graph": f"127.0.0.1:{service.port}"})
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as gw, \
            grpc.insecure_channel(f"127.0.0.1:{service.port}") as direct:
        yield SimpleNamespace(gateway=gateway_pb2_grpc.GatewayServiceStub(gw), service=pb_grpc.GraphServiceStub(direct),
                              http=f"http://127.0.0.1:{gateway.http_port}",
                              gateway_address=f"127.0.0.1:{gateway.grpc_port}", store=root)
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def test_detect_through_gateway_scores_targets_with_evidence(
    stack: SimpleNamespace, snapshots: SimpleNamespace
) -> None:
    test = snapshots.test
    targets = np.array([5, 0, 299, 17], dtype=np.int64)
    loops = np.concatenate([test.edge_index, [[3, 3], [3, 3]], test.edge_index[:, :5]], axis=1)  # loops + duplicates
    request = pb.DetectRequest(graph=message(test.x, loops, target_nodes=targets,
                                             edge_time=np.arange(loops.shape[1], dtype=np.float64)),
                               explain_top_k=2)
    reply = stack.gateway.Detect(gateway_pb2.DetectRequest(graph=request), timeout=60)
    assert reply.service == "graph" and reply.graph.graph_id == "g"
    answer = reply.graph
    assert to_numpy(answer.nodes).tolist() == targets.tolist()
    scores, p_values = to_numpy(answer.scores), to_numpy(answer.decisions.p_values)
    assert scores.shape == (4,) and ((p_values > 0) & (p_values <= 1)).all()
    assert [e.node for e in answer.evidence] == targets[np.argsort(-scores, kind="stable")[:2]].tolist()
    assert all(len(e.neighbors) >= 1 for e in answer.evidence)


def test_whole_graph_flags_anomalies(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    test = snapshots.test
    reply = stack.service.Detect(pb.DetectRequest(graph=message(test.x, test.edge_index), omit_evidence=True),
                                 timeout=60)
    scores = to_numpy(reply.scores)
    assert scores.shape == (300,) and not reply.evidence
    ranked = np.argsort(-scores)[:20]
    assert (test.y[ranked] > 0).mean() > 0.3, "the top-scored nodes are mostly injected anomalies"


def test_p_values_are_neighbour_aware_whichever_targets_are_asked(
    stack: SimpleNamespace, snapshots: SimpleNamespace
) -> None:
    from safetensors.numpy import load_file

    from services.core.calibration import ConformalCalibrator
    from services.core.store import CALIBRATION_FILE, ModelStore
    from services.graph.neighbour_groups import NEAR_FLAGGED, neighbour_groups

    test = snapshots.test
    whole = stack.service.Detect(pb.DetectRequest(graph=message(test.x, test.edge_index), omit_evidence=True),
                                 timeout=60)
    scores, p_values = to_numpy(whole.scores), to_numpy(whole.decisions.p_values)
    stored = ModelStore(stack.store).resolve("graph", "ego_diffusion", "")
    calibrator = ConformalCalibrator.from_state_dict(load_file(str(stored.path / CALIBRATION_FILE)))
    assert calibrator.grouped, "the stored version carries one calibration per neighbour group"
    groups = neighbour_groups(test.edge_index, scores, calibrator, 0.05)
    np.testing.assert_allclose(p_values, calibrator.group_p_values(scores, groups))
    near = np.flatnonzero(groups == NEAR_FLAGGED)
    assert near.size and not np.allclose(p_values[near], calibrator.p_values(scores[near]))  # not the pooled ones
    # asking for a few targets scores their other neighbours too, so each target keeps its group and p-value
    targets = np.concatenate([near[:3], np.flatnonzero(groups != NEAR_FLAGGED)[:3]])
    some = stack.service.Detect(pb.DetectRequest(graph=message(test.x, test.edge_index, target_nodes=targets),
                                                 omit_evidence=True), timeout=60)
    np.testing.assert_allclose(to_numpy(some.decisions.p_values), p_values[targets])


def test_rest_json_and_edge_list_upload(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    test = snapshots.test
    body = {"node_features": test.x.round(4).tolist(), "edges": test.edge_index.T.tolist(),
            "target_nodes": [1, 2, 3], "explain_top_k": 1, "policy": {"rule": "bh", "alpha": 0.1}}
    reply = httpx.post(f"{stack.http}/v1/graph/detect", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert [r["node"] for r in answer["results"]] == [1, 2, 3] and answer["rule"] == "DECISION_RULE_BENJAMINI_HOCHBERG"
    assert len(answer["evidence"]) == 1 and answer["evidence"][0]["neighbors"]
    edges = "source target\n" + "\n".join(f"{s} {d}" for s, d in test.edge_index.T)
    features = "\n".join(",".join(f"{v:.5f}" for v in row) for row in test.x)
    files = {"edges": ("edges.txt", edges.encode(), "text/plain"), "features": ("x.csv", features.encode(), "text/csv")}
    upload = httpx.post(f"{stack.http}/v1/graph/detect/upload", files=files, params={"explain_top_k": 0}, timeout=60)
    assert upload.status_code == 200, upload.text
    assert len(upload.json()["results"]) == 300 and upload.json()["graph_id"] == "edges.txt"
    bad = {"edges": ("e.txt", b"0 1\n1 9999\n", "text/plain"), "features": ("x.csv", features.encode(), "text/csv")}
    rejected = httpx.post(f"{stack.http}/v1/graph/detect/upload", files=bad, timeout=60)
    assert rejected.status_code == 400 and "node 9999, outside [0, 300)" in rejected.json()["error"]["message"]


def _bad_graphs(test) -> list[tuple[pb.DetectRequest, str]]:  # type: ignore[no-untyped-def]
    nan = test.x.copy()
    nan[7, 2] = np.nan
    return [
        (pb.DetectRequest(graph=message(test.x, np.array([[0, 1], [1, 300]]))), "node 300, outside [0, 300)"),
        (pb.DetectRequest(graph=message(test.x[:, :5], test.edge_index)), "5 features per node; the model was "
                                                                          "trained on 16"),
        (pb.DetectRequest(graph=message(nan, test.edge_index)), "NaN or infinite values (first at node 7)"),
        (pb.DetectRequest(graph=pb.Graph(edge_index=from_numpy(test.edge_index))), "node_features is missing"),
        (pb.DetectRequest(graph=message(test.x, test.edge_index.astype(np.float32))), "not accepted here"),
        (pb.DetectRequest(graph=message(test.x, test.edge_index), explain_top_k=50), "the limit is 20"),
    ]


def test_bad_inputs_are_invalid_argument(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    for request, fragment in _bad_graphs(snapshots.test):
        with pytest.raises(grpc.RpcError) as caught:
            stack.gateway.Detect(gateway_pb2.DetectRequest(graph=request), timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fragment
        assert fragment in caught.value.details()
    huge = pb.DetectRequest(graph=message(np.zeros((1500, 16), np.float32), np.zeros((2, 0), np.int64)))
    with pytest.raises(grpc.RpcError) as caught:  # well formed but over the limit
        stack.gateway.Detect(gateway_pb2.DetectRequest(graph=huge), timeout=30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "1500 nodes; the limit is 1000" in caught.value.details()
    bad = httpx.post(f"{stack.http}/v1/graph/detect", json={"node_features": [[1.0, 2.0], [3.0]], "edges": []},
                     timeout=30)
    assert bad.status_code == 400 and "differ in length" in bad.json()["error"]["message"]


def test_model_info_and_fit(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    info = stack.service.GetModelInfo(pb.GetModelInfoRequest(), timeout=10).model
    assert (info.detector, info.modality, list(info.input_shape)) == ("ego_diffusion", "graph", [-1, 16])
    assert info.calibration_size > 100
    train = snapshots.train
    labels = from_numpy(train.y.astype(np.int64))
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Fit(pb.FitRequest(graph=message(train.x, train.edge_index),
                                        labels=from_numpy(np.zeros(train.num_nodes, np.int64))), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at least 4" in caught.value.details()
    config = json.dumps({**CONFIG, "epochs": 3, "use_diffusion": False})
    fitted = stack.service.Fit(pb.FitRequest(graph=message(train.x, train.edge_index), labels=labels,
                                             config_json=config), timeout=120).model
    assert fitted.version != info.version and json.loads(fitted.config_json)["use_diffusion"] is False
    test = replace(snapshots.test, y=None)
    request = pb.DetectRequest(graph=message(test.x, test.edge_index), omit_evidence=True)
    request.model.version = fitted.version
    assert to_numpy(stack.service.Detect(request, timeout=60).scores).shape == (300,)


def test_service_is_listed(stack: SimpleNamespace) -> None:
    listed = stack.gateway.ListServices(gateway_pb2.ListServicesRequest()).services
    assert [(s.name, s.ready) for s in listed] == [("graph", True)]


def test_cli_score_prints_top_nodes(
    stack: SimpleNamespace, snapshots: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from argparse import Namespace

    from services.graph.cli import score

    test = snapshots.test
    np.savetxt(tmp_path / "edges.txt", test.edge_index.T, fmt="%d")
    np.savetxt(tmp_path / "features.csv", test.x, delimiter=",")
    args = Namespace(files=[str(tmp_path)], gateway=stack.gateway_address, rule="alpha", alpha=0.01, json=True,
                     timeout=60.0)
    assert score(args) == 0
    report = json.loads(capsys.readouterr().out)[0]
    assert report["nodes"] == 300 and len(report["top"]) == 20 and report["top"][0]["neighbours"]


def test_kserve_v2_graph_model_equals_native_detect(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    import tritonclient.grpc as tgrpc

    test = snapshots.test
    client = tgrpc.InferenceServerClient(stack.gateway_address)
    try:
        meta = client.get_model_metadata("graph-ego_diffusion", as_json=True)
        declared = [(t["name"], t["datatype"]) for t in meta["inputs"]]
        assert declared == [("node_features", "FP32"), ("edge_index", "INT64")]
        assert meta["inputs"][0]["shape"] == ["-1", str(test.x.shape[1])]
        inputs = []
        for name, array, datatype in (("node_features", test.x, "FP32"), ("edge_index", test.edge_index, "INT64")):
            tensor = tgrpc.InferInput(name, list(array.shape), datatype)
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            inputs.append(tensor)
        result = client.infer("graph-ego_diffusion", inputs)
    finally:
        client.close()
    native = stack.gateway.Detect(gateway_pb2.DetectRequest(graph=pb.DetectRequest(
        graph=message(test.x, test.edge_index), omit_evidence=True)), timeout=60).graph
    assert np.array_equal(result.as_numpy("scores"), to_numpy(native.scores))
    assert np.array_equal(result.as_numpy("nodes"), to_numpy(native.nodes).astype(np.int64))
    assert result.as_numpy("anomalous").shape == (test.x.shape[0],)


def _timed(current, previous) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Edges ``(2, E + H)`` of both snapshots and their times ``(E + H,)``: the previous one is the history."""
    return (np.concatenate([previous.edge_index, current.edge_index], axis=1),
            np.concatenate([previous.edge_time, current.edge_time]))


def test_temporal_model_fits_and_scores_over_grpc(stack: SimpleNamespace, snapshots: SimpleNamespace) -> None:
    """Last in the module: the version it fits becomes the service's latest."""
    test, previous = snapshots.test, snapshots.previous
    edges, times = _timed(previous, snapshots.before)
    config = json.dumps({**CONFIG, "epochs": 4, "use_diffusion": False, "temporal": True, "time_window": 0.95})
    fitted = stack.service.Fit(pb.FitRequest(graph=message(previous.x, edges, edge_time=times),
                                             labels=from_numpy(previous.y.astype(np.int64)), config_json=config),
                               timeout=120).model
    assert json.loads(fitted.config_json)["temporal"] is True
    edges, times = _timed(test, previous)
    request = pb.DetectRequest(graph=message(test.x, edges, edge_time=times), omit_evidence=True)
    request.model.version = fitted.version
    scores = to_numpy(stack.service.Detect(request, timeout=60).scores)
    assert scores.shape == (300,) and np.isfinite(scores).all()
    rewired = test.y == 3  # a type the model never saw: all its edges are new
    assert scores[rewired].mean() > np.quantile(scores[test.y == 0], 0.9)
    static = pb.DetectRequest(graph=message(test.x, test.edge_index), omit_evidence=True)
    static.model.version = fitted.version
    with pytest.raises(grpc.RpcError) as caught:
        stack.service.Detect(static, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "send the edges of the previous window" in caught.value.details()
