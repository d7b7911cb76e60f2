"""HeteroComp detector: fit / score / windows / explain / stream / save-load / validation errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from services.core.errors import InvalidInputError
from services.tensorstream.batch import EventBatch, head, make_batch
from services.tensorstream.data import window_labels
from services.tensorstream.detectors.heterocomp import HeteroCompDetector
from services.tensorstream.netgen import NetworkStream
from tests.unit.tensorstream.conftest import SMALL


def _test_part(stream: NetworkStream) -> tuple[EventBatch, np.ndarray]:
    index = np.flatnonzero(stream.events.times >= 6 * 3600)
    return stream.events.take(index), stream.labels[index]


def test_scores_events_and_finds_group_windows(fitted: HeteroCompDetector, stream: NetworkStream) -> None:
    test, labels = _test_part(stream)
    scores, windows = fitted.score_windows(test)
    assert scores.shape == (len(test),) and scores.dtype == np.float32
    assert roc_auc_score(labels > 0, scores) > 0.9
    index, flagged = window_labels(test.times, labels, 60.0)
    np.testing.assert_array_equal(windows.index, index)
    assert roc_auc_score(flagged, windows.score) > 0.85
    assert (windows.component >= 0).all() and (windows.component < 4).all()
    np.testing.assert_array_equal(fitted.score(test), scores)


def test_a_tiny_injected_burst_is_the_top_window(fitted: HeteroCompDetector, stream: NetworkStream) -> None:
    events = stream.events
    normal = np.flatnonzero((events.times >= 6 * 3600) & (events.times < 6.5 * 3600) & (stream.labels == 0))
    part = events.take(normal)
    t0 = 6.25 * 3600 + 5
    burst = make_batch(t0 + np.linspace(0, 30, 40), {"src_ip": ["10.1.0.9"] * 40, "dst_ip": ["10.9.0.3"] * 40,
                                                     "dst_port": [5555] * 40, "protocol": ["tcp"] * 40},
                       {"bytes": [60.0] * 40, "duration": [0.001] * 40})
    from services.tensorstream.batch import concat

    merged = concat([part, burst])
    merged = merged.take(np.argsort(merged.times, kind="stable"))
    windows = fitted.window_scores(merged)
    top = windows.index[np.argmax(windows.score)]
    assert top == int(t0 // 60)
    explanation = fitted.explain(merged)
    assert explanation.attribute_nll.shape == (len(merged), 6)
    assert explanation.component.shape == (len(merged),)


def test_stream_matches_batch_and_state_stays_flat(fitted: HeteroCompDetector, stream: NetworkStream) -> None:
    test, _ = _test_part(stream)
    state = fitted.initial_stream_state()
    sizes, closed = [], 0
    windows = np.floor(test.times / 60).astype(int)
    bounds = np.flatnonzero(np.diff(windows)) + 1
    chunks = np.split(np.arange(len(test)), bounds)  # one call per window: same grouping as the batch
    parts = []
    for chunk in chunks:
        output, state = fitted.stream_process(test.take(chunk), state, adapt=False)
        parts.append(output.scores)
        closed += len(output.windows)
        sizes.append(sum(v.nbytes for v in state.values()))
    np.testing.assert_allclose(np.concatenate(parts), fitted.score(test), rtol=1e-5, atol=1e-5)
    assert closed == len(chunks) - 1 and len(set(sizes)) == 1
    adapted = fitted.initial_stream_state()
    for chunk in chunks[:20]:
        scores, adapted = fitted.stream_step(test.take(chunk), adapted, adapt=True)
        assert np.isfinite(scores).all()
    size = sum(v.nbytes for v in adapted.values())
    for chunk in chunks[20:60]:
        _, adapted = fitted.stream_step(test.take(chunk), adapted, adapt=True)
    assert sum(v.nbytes for v in adapted.values()) == size


def test_save_load_round_trip_and_update(fitted: HeteroCompDetector, stream: NetworkStream, tmp_path: Path) -> None:
    test, _ = _test_part(stream)
    fitted.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl"))
    again = HeteroCompDetector.load(tmp_path)
    np.testing.assert_array_equal(again.score(test), fitted.score(test))
    assert again.schema_ == fitted.schema_
    again.update(head(test, 2000))
    assert np.isfinite(again.score(test)).all()


def test_static_ablation_and_no_group_scores_run(stream: NetworkStream) -> None:
    events = stream.events
    train = events.take(np.flatnonzero(events.times < 3 * 3600))
    for override in ({"use_temporal_gp": False}, {"use_group_score": False}):
        detector = HeteroCompDetector({**SMALL, **override}).fit(train)
        assert np.isfinite(detector.score(head(events.take(np.flatnonzero(events.times >= 6 * 3600)), 500))).all()


def _one(**fields: object) -> EventBatch:
    base: dict[str, object] = {"src_ip": "10.1.0.1", "dst_ip": "10.9.0.1", "dst_port": 443, "protocol": "tcp"}
    cont: dict[str, object] = {"bytes": 100.0, "duration": 1.0}
    times = [fields.pop("time", 30000.0), 30001.0]
    base.update({k: v for k, v in fields.items() if k in base})
    cont.update({k: v for k, v in fields.items() if k in cont})
    cat = np.empty((2, 4), dtype=object)
    cat[0] = list(base.values())
    cat[1] = ["10.1.0.1", "10.9.0.1", 443, "tcp"]
    return EventBatch(np.array(times, dtype=float), cat, np.array([list(cont.values()), [1.0, 1.0]], dtype=object),
                      tuple(base), tuple(cont))


@pytest.mark.parametrize(("fields", "match"), [
    ({"protocol": None}, r"event 0: categorical attribute 'protocol' is missing"),
    ({"src_ip": 1.5}, r"event 0: categorical attribute 'src_ip' is of type float"),
    ({"bytes": "lots"}, r"event 0: continuous attribute 'bytes' is not a number"),
    ({"duration": float("nan")}, r"event 0: continuous attribute 'duration' is missing"),
    ({"time": 40000.0}, r"event 1: time .* goes back"),
])
def test_malformed_events_name_event_and_field(fitted: HeteroCompDetector, fields: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        fitted.score(_one(**fields))


def test_missing_attribute_and_backwards_stream(fitted: HeteroCompDetector, stream: NetworkStream) -> None:
    test, _ = _test_part(stream)
    short = EventBatch(test.times[:5], test.categorical[:5, :3], test.continuous[:5], test.categorical_names[:3],
                       test.continuous_names)
    with pytest.raises(InvalidInputError, match="lack the categorical attribute 'protocol'") as info:
        fitted.score(short)
    assert info.value.field == "protocol"
    state = fitted.initial_stream_state()
    _, state = fitted.stream_step(test.take(slice(100, 200)), state, adapt=False)
    with pytest.raises(InvalidInputError, match="event 0: time"):
        fitted.stream_step(test.take(slice(0, 10)), state, adapt=False)
    scores, _ = fitted.stream_step(test.take(slice(200, 210)), state, adapt=False)  # the stream stays usable
    assert scores.shape == (10,)
