"""Time-series loaders (UCR, TSB-AD, TimeEval, aeon, uploaded CSV) and the synthetic generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.timeseries.data import (
    generate_multivariate,
    load_aeon_ecg,
    load_aeon_kdd135,
    load_timeeval_csv,
    load_tsb_ad_csv,
    load_ucr_anomaly,
    read_series_csv,
)


def test_ucr_one_value_per_line(tmp_path: Path) -> None:
    path = tmp_path / "001_UCR_Anomaly_Tiny_10_12_14.txt"
    path.write_text("\n".join(str(v) for v in range(20)) + "\n")
    series = load_ucr_anomaly(path)
    assert series.name == "001_UCR_Anomaly_Tiny"
    assert series.train.shape == (10, 1) and series.train.dtype == np.float32
    assert series.test.shape == (20, 1) and series.test_labels.dtype == np.int8
    # 1-based inclusive 12..14 -> 0-based 11..13
    assert np.flatnonzero(series.test_labels).tolist() == [11, 12, 13]
    zero_based = load_ucr_anomaly(path, one_based=False)
    assert np.flatnonzero(zero_based.test_labels).tolist() == [12, 13, 14]


def test_ucr_whitespace_separated_and_bad_names(tmp_path: Path) -> None:
    path = tmp_path / "002_UCR_Anomaly_Spaced_3_5_5.txt"
    path.write_text("  1.5 2.5   3.5\n4.5 5.5 6.5 ")
    series = load_ucr_anomaly(path)
    assert series.test[:, 0].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]
    assert series.train.shape == (3, 1) and series.test_labels.tolist() == [0, 0, 0, 0, 1, 0]
    bad = tmp_path / "not_ucr.txt"
    bad.write_text("1\n2\n")
    with pytest.raises(InvalidInputError, match="expected a file named"):
        load_ucr_anomaly(bad)


def test_tsb_ad_csv_split_from_name(tmp_path: Path) -> None:
    path = tmp_path / "001_Demo_id_1_tr_4_1st_6.csv"
    rows = [f"{i},{10 + i},{int(i in (6, 7))}" for i in range(10)]
    path.write_text("a,b,Label\n" + "\n".join(rows) + "\n")
    series = load_tsb_ad_csv(path)
    assert series.train.shape == (4, 2) and series.test.shape == (10, 2)
    assert np.flatnonzero(series.test_labels).tolist() == [6, 7]
    plain = tmp_path / "plain.csv"
    plain.write_text("Data,Label\n" + "\n".join(f"{i},{int(i == 5)}" for i in range(8)) + "\n")
    assert load_tsb_ad_csv(plain).train.shape == (5, 1)  # prefix before the first anomaly


def test_timeeval_csv_with_train_file(tmp_path: Path) -> None:
    test = tmp_path / "demo_TEST.csv"
    rows = "".join(f"{i},{i},{-i},{int(i == 3)}\n" for i in range(6))
    test.write_text("timestamp,value-0,value-1,is_anomaly\n" + rows)
    train = tmp_path / "demo_TRAIN.csv"
    train.write_text("timestamp,value-0,value-1,is_anomaly\n0,1,2,0.0\n1,3,4,0.0\n")
    series = load_timeeval_csv(test, train)
    assert series.test.shape == (6, 2) and series.test_labels.tolist() == [0, 0, 0, 1, 0, 0]
    assert series.train.tolist() == [[1, 2], [3, 4]]
    assert load_timeeval_csv(test).train.shape == (3, 2)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("timestamp,value,Label\n0,1,0\n")
    with pytest.raises(InvalidInputError, match="is_anomaly"):
        load_timeeval_csv(wrong)
    with pytest.raises(InvalidInputError, match="'Label'"):
        load_tsb_ad_csv(train)


def test_aeon_kdd135() -> None:
    series = load_aeon_kdd135()
    assert series.train.shape == (1200, 1) and series.test.shape == (7501, 1)
    assert np.flatnonzero(series.test_labels).tolist() == list(range(4187, 4199))
    np.testing.assert_array_equal(series.train, series.test[:1200])
    held_out = series.held_out()
    assert held_out.test.shape == (6301, 1)
    assert np.flatnonzero(held_out.test_labels).tolist() == list(range(4187 - 1200, 4199 - 1200))


def test_aeon_ecg() -> None:
    series = load_aeon_ecg()
    assert series.train.shape == (10000, 1) and series.test.shape == (10000, 1)
    edges = np.flatnonzero(np.diff(np.r_[0, series.test_labels, 0]))
    assert edges.reshape(-1, 2).tolist() == [[1560, 1660], [6600, 6700], [6940, 7040]]


def test_read_series_csv_header_and_dropped_columns(tmp_path: Path) -> None:
    text = "timestamp,a,b,label\n2024-01-01,1,2,0\n2024-01-02,3,4.5,1\n"
    out = read_series_csv(text)
    assert out.dtype == np.float32 and out.tolist() == [[1, 2], [3, 4.5]]
    path = tmp_path / "upload.csv"
    path.write_text("1;2\n3;4\n\n")
    assert read_series_csv(path).tolist() == [[1, 2], [3, 4]]
    assert read_series_csv(str(path)).shape == (2, 2)
    assert read_series_csv(b"value,is_anomaly\n5,0\n6,1\n").tolist() == [[5], [6]]
    assert read_series_csv("7\n8\n9").shape == (3, 1)
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_series_csv(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_series_csv(str(tmp_path / "missing.csv"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data rows"),
        ("a,b\n", "only a header"),
        ("1,2\n3,x\n", "line 2, column 2: 'x' is not a number"),
        ("1,2\n3\n", "line 2: expected 2 columns, got 1"),
        ("timestamp,label\n1,0\n", "no value columns"),
    ],
)
def test_read_series_csv_rejects_malformed(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_series_csv(text)


def test_generator_is_deterministic_with_labelled_test_anomalies() -> None:
    a = generate_multivariate(1000, 4000, 3, seed=7)
    b = generate_multivariate(1000, 4000, 3, seed=7)
    c = generate_multivariate(1000, 4000, 3, seed=8)
    np.testing.assert_array_equal(a.test, b.test)
    np.testing.assert_array_equal(a.train, b.train)
    assert not np.array_equal(a.test, c.test)
    assert a.train.shape == (1000, 3) and a.test.shape == (4000, 3) and a.test_labels.dtype == np.int8
    assert sorted({kind for kind, _, _ in a.anomalies}) == ["collective", "contextual", "point", "seasonal"]
    assert len(a.anomalies) == 8  # two of each kind for 4000 test points
    expected = np.zeros(4000, np.int8)
    for _, start, end in a.anomalies:
        expected[start:end] = 1
    np.testing.assert_array_equal(a.test_labels, expected)
    spikes = [start for kind, start, _ in a.anomalies if kind == "point"]
    deviation = np.abs(a.test[spikes] - a.test.mean(0)) / a.test.std(0)
    assert (deviation.max(1) > 3).all()


def test_generator_single_kind_and_validation() -> None:
    series = generate_multivariate(500, 1000, 1, anomaly_kinds=("collective",), seed=1)
    assert [kind for kind, _, _ in series.anomalies] == ["collective"]
    with pytest.raises(InvalidInputError, match="expected kinds"):
        generate_multivariate(500, 1000, 1, anomaly_kinds=("bogus",))
