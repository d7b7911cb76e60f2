"""parse_series_csv: accepted layouts, dropped columns, and errors that name the line and column."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.timeseries.series_csv import parse_series_csv


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"1\n2\n3\n", [[1], [2], [3]]),
        (b"value\n1.5\n-2\n", [[1.5], [-2]]),
        (b"a,b\n1,2\n3,4\n", [[1, 2], [3, 4]]),
        (b"1,2\n3,4", [[1, 2], [3, 4]]),  # no header, no trailing newline
        (b"timestamp,value,label\n2024-01-01,1,0\n2024-01-02,2,1\n", [[1], [2]]),
        (b"Time,x,y\n0,1,2\n1,3,4\n", [[1, 2], [3, 4]]),
        (b"date;x;is_anomaly\n2024-01-01;5;0\n", [[5]]),
        (b"Data,Label\n0.5,0\n0.7,1\n", [[0.5], [0.7]]),  # TSB-AD layout
        (b"\xef\xbb\xbfa\tb\n1\t2\n", [[1, 2]]),  # UTF-8 BOM, tab-separated
        (b"a,b\r\n1, 2\r\n\r\n3 ,4\r\n", [[1, 2], [3, 4]]),  # CRLF, blank line, padded cells
        (b'"a","b"\n"1","2"\n', [[1, 2]]),
    ],
)
def test_accepted_layouts(data: bytes, expected: list[list[float]]) -> None:
    values = parse_series_csv(data)
    assert values.dtype == np.float32 and values.ndim == 2
    np.testing.assert_allclose(values, np.array(expected, dtype=np.float32))


def test_time_column_is_dropped_only_when_first() -> None:
    with pytest.raises(InvalidInputError, match="line 2, column 2 \\('time'\\)"):
        parse_series_csv(b"x,time\n1,12:00\n")


def test_large_input_parses_fast_path() -> None:
    rows = "\n".join(f"{i},{i * 0.5},{i % 2}" for i in range(20_000))
    values = parse_series_csv(("t0,t1,label\n" + rows).encode())
    assert values.shape == (20_000, 2) and values[-1, 1] == pytest.approx(19_999 * 0.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no data rows"),
        (b"\n  \n", "no data rows"),
        (b"a,b\n", "no data rows (only a header)"),
        (b"a,b\n1,2\n3,x\n", "CSV line 3, column 2 ('b'): 'x' is not a number"),
        (b"1,2\n3,\n", "CSV line 2, column 2: empty cell"),
        (b"a,b\n1,2\n3\n", "CSV line 3: expected 2 columns, got 1"),
        (b"a,b\n1,2\n3,4,5\n", "CSV line 3: expected 2 columns, got 3"),
        (b"1,2\n\xff\xfe\n", "CSV line 2: not valid UTF-8"),
        (b"timestamp,label\n1,0\n", "no value columns"),
    ],
)
def test_errors_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_series_csv(data)
    assert message in str(caught.value)


def test_long_bad_cell_is_shortened() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_series_csv(b"a\n1\n" + b"z" * 500 + b"\n")
    assert "line 3" in str(caught.value) and len(str(caught.value)) < 120
