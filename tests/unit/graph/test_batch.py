"""GraphBatch validation and normalisation, edge-list parsing and file loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.graph.batch import GraphBatch, normalise_edges, restrict_targets, union
from services.graph.graph_text import parse_edge_list, parse_labels, parse_matrix
from services.graph.validation import validate_graph


def graph(n: int = 5, f: int = 3, **fields) -> GraphBatch:  # type: ignore[no-untyped-def]
    x = np.arange(n * f, dtype=np.float32).reshape(n, f)
    edges = np.array([[0, 1, 1, 2, 3, 3], [1, 0, 2, 2, 4, 4]])
    return GraphBatch(**{"x": x, "edge_index": edges, **fields})


def test_self_loops_and_duplicates_are_dropped_and_edges_made_undirected() -> None:
    checked = validate_graph(graph(), None, 100, 100)
    pairs = set(map(tuple, checked.edge_index.T.tolist()))
    assert pairs == {(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3)}
    assert checked.normalised and checked.x.dtype == np.float32


def test_duplicate_edge_keeps_latest_time() -> None:
    edges, times = normalise_edges(np.array([[0, 0, 1], [1, 1, 0]]), 2, np.array([1.0, 5.0, 3.0]))
    assert edges.shape == (2, 2) and set(times.tolist()) == {5.0}


@pytest.mark.parametrize(
    ("batch", "n_features", "fragment"),
    [
        (graph(edge_index=np.array([[0, 7], [1, 0]])), None, "node 7, outside [0, 5)"),
        (graph(edge_index=np.array([[0, -1], [1, 0]])), None, "node -1"),
        (graph(), 4, "3 features per node; the model was trained on 4"),
        (graph(x=np.array([[0.0, np.nan]] * 5, dtype=np.float32)), None, "NaN or infinite values (first at node 0)"),
        (graph(n=50), None, "50 nodes; the limit is 10"),
        (graph(targets=np.array([0, 9])), None, "target_nodes must lie in [0, 5)"),
        (graph(edge_index=np.zeros((3, 2), np.int64)), None, "(2, E)"),
        (graph(edge_time=np.array([1.0])), None, "edge_time must be 6 finite numbers"),
    ],
)
def test_bad_graphs_name_the_problem(batch: GraphBatch, n_features: int | None, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_graph(batch, n_features, 10 if batch.num_nodes > 10 else 100, 100)
    assert fragment in str(caught.value)


def test_edge_limit() -> None:
    with pytest.raises(InvalidInputError, match="6 edges; the limit is 5"):
        validate_graph(graph(), None, 100, 5)


def test_union_offsets_nodes_and_restrict_targets() -> None:
    a, b = graph(y=np.zeros(5, np.int8)), graph(y=np.ones(5, np.int8))
    packed = union([a, b])
    assert packed.num_nodes == 10 and packed.edge_index.max() == 9 and packed.y.tolist() == [0] * 5 + [1] * 5
    assert restrict_targets(packed, 3).target_nodes.tolist() == [0, 1, 2] and len(packed) == 10


def test_parsers(tmp_path: Path) -> None:
    edges, times = parse_edge_list(b"# comment\nsrc,dst,time\n0,1,0.5\n1 2 1.5\n")
    assert edges.tolist() == [[0, 1], [1, 2]] and times.tolist() == [0.5, 1.5]
    assert parse_matrix(b"1e-3 2\n3 4\n").shape == (2, 2)
    assert parse_labels(b"0\n1\n2\n").tolist() == [0, 1, 2]
    with pytest.raises(InvalidInputError, match="line 2 has 1 columns"):
        parse_edge_list(b"0 1\n2\n")
    with pytest.raises(InvalidInputError, match="not a number"):
        parse_matrix(b"1 2\n3 x4\n")


def test_folder_and_pyg_loaders(tmp_path: Path) -> None:
    import torch
    from torch_geometric.data import Data

    from services.graph.loaders import load_graph

    (tmp_path / "edges.txt").write_text("0 1\n1 2\n")
    (tmp_path / "features.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    (tmp_path / "labels.txt").write_text("0\n1\n0\n")
    loaded = load_graph(tmp_path)
    assert loaded.x.shape == (3, 2) and loaded.y.tolist() == [0, 1, 0]
    torch.save(Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1], [1, 2]]), y=torch.tensor([0, 0, 1, 0])),
               tmp_path / "g.pt")
    pyg = load_graph(tmp_path / "g.pt")
    assert pyg.x.shape == (4, 2) and pyg.y.tolist() == [0, 0, 1, 0]
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(InvalidInputError, match="not a PyG Data"):
        load_graph(tmp_path / "bad.pt")


def test_time_window_keeps_recent_edges() -> None:
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    batch = graph(edge_time=np.array([0.0, 0.0, 5.0, 5.0, 9.0, 10.0]))
    kept = EgoDiffusionDetector(time_window=2.0).validate_input(batch)
    assert set(map(tuple, kept.edge_index.T.tolist())) == {(3, 4), (4, 3)} and kept.edge_time.min() >= 8.0
    assert EgoDiffusionDetector().validate_input(batch).num_edges == 6
