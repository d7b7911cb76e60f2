"""Temporal channels and the time-window split: hand-computed values, the wire path, the snapshot split."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.graph.batch import GraphBatch, normalise_edges, select_snapshots, union, window_start, with_history
from services.graph.validation import validate_graph


def path_graph(edges: list[tuple[int, int]], times: list[float], n: int = 4) -> GraphBatch:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return GraphBatch(x=x, edge_index=np.array(edges).T, edge_time=np.array(times, dtype=np.float64))


def test_persistence_and_degree_change_by_hand() -> None:
    from services.graph.detectors.ego_diffusion.temporal import temporal_channels

    # history (times 0.5): 0-1, 1-2; now (times 1.5): 0-1 kept, 2-3 new, 1-3 new
    now, now_t = normalise_edges(np.array([[0, 2, 1], [1, 3, 3]]), 4, np.full(3, 1.5))
    before, before_t = normalise_edges(np.array([[0, 1], [1, 2]]), 4, np.full(2, 0.5))
    start = window_start(now, now_t, None, 4, 1.0)
    assert start.tolist() == [0.5] * 4
    channels = temporal_channels(now, start, before, before_t, window=1.0).numpy()
    w = np.exp(-0.0)  # start of the current window is 1.5 - 1.0 = 0.5: age 0
    assert channels[:, 0] == pytest.approx([w, w / 2, 0.0, 0.0])  # node 1: one of two neighbours kept
    expected_change = np.log1p([1, 2, 1, 2]) - np.log1p([w, 2 * w, w, 0])
    assert channels[:, 1] == pytest.approx(expected_change, rel=1e-5)
    older = temporal_channels(now, start, before, before_t - 1.0, window=1.0).numpy()
    assert older[0, 0] == pytest.approx(np.exp(-1.0)), "history one window older counts e^-1"


def test_time_window_moves_older_edges_to_history_and_keeps_edges_in_both() -> None:
    batch = path_graph([(0, 1), (1, 2), (0, 1), (2, 3)], [0.5, 0.5, 1.5, 1.5])
    split = validate_graph(batch, None, 10, 10, time_window=0.9)
    assert set(map(tuple, split.edge_index.T.tolist())) == {(0, 1), (1, 0), (2, 3), (3, 2)}
    assert set(map(tuple, split.history_index.T.tolist())) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert split.history_time.max() == 0.5 and split.edge_time.min() == 1.5
    assert validate_graph(batch, None, 10, 10).history_index is None


def test_each_snapshot_of_a_union_keeps_its_own_current_window() -> None:
    a = path_graph([(0, 1), (1, 2)], [0.5, 1.5])  # snapshot at t ≈ 1: edge 0-1 is older
    b = path_graph([(2, 3), (0, 3)], [4.5, 5.5])  # snapshot at t ≈ 5: edge 2-3 is older
    split = validate_graph(union([a, b]), None, 10, 10, time_window=0.9)
    assert set(map(tuple, split.edge_index.T.tolist())) == {(1, 2), (2, 1), (4, 7), (7, 4)}
    assert set(map(tuple, split.history_index.T.tolist())) == {(0, 1), (1, 0), (6, 7), (7, 6)}


def test_temporal_model_needs_history_and_a_window() -> None:
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector

    with pytest.raises(ValueError, match="needs time_window"):
        EgoDiffusionDetector(temporal=True)
    detector = EgoDiffusionDetector(temporal=True, time_window=1.0)
    with pytest.raises(InvalidInputError, match="send the edges of the previous window"):
        detector.validate_input(path_graph([(0, 1)], [1.0]))
    assert detector.validate_input(path_graph([(0, 1), (1, 2)], [0.0, 2.0])).history_index.shape == (2, 2)


def test_union_and_snapshot_selection_keep_history() -> None:
    a = with_history(path_graph([(0, 1)], [1.5]), path_graph([(1, 2)], [0.5]))
    b = with_history(path_graph([(2, 3)], [2.5]), path_graph([(0, 3)], [1.5]))
    packed = union([replace(a, y=np.zeros(4, np.int8)), replace(b, y=np.array([0, 1, 0, 0], np.int8))])
    assert packed.history_index.max() == 7 and packed.history_time.shape == (4,)
    second = select_snapshots(packed, [1])
    assert second.num_nodes == 4 and second.y.tolist() == [0, 1, 0, 0]
    assert set(map(tuple, second.history_index.T.tolist())) == {(0, 3), (3, 0)}
    assert second.target_nodes.tolist() == [0, 1, 2, 3]


def test_held_out_snapshot_is_absent_from_the_fit_batch() -> None:
    from services.graph.data import sbm
    from services.graph.experiments import split

    data = sbm(n_nodes=120, n_snapshots=5, n_train=4, per_type=4, seed=1)
    parts = split(data)
    assert parts.fit.num_nodes == 2 * 120 and sorted(set(parts.fit.snapshot.tolist())) == [0, 1]
    held = data.snapshots[3]
    assert np.array_equal(parts.calibration.x, held.x) and parts.calibration.y is None
    assert np.array_equal(parts.calibration.target_nodes, np.flatnonzero(held.y == 0))
    assert np.array_equal(parts.validation.y, held.y) and len(parts.tests) == 1
