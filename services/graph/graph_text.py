"""Text formats of graphs, numpy only: shared by the graph service (loaders) and the gateway (uploads).

- edge list: one edge per line, ``source target`` or ``source target time``, separated by spaces,
  tabs or commas; ``#`` starts a comment; a first line with letters is a header and skipped.
- feature matrix: one node per line (row ``i`` = node ``i``), the same separators and header rule.
- labels: one integer per line (0 normal, > 0 anomalous).
Every problem is an ``InvalidInputError`` naming the file and the line.
"""

from __future__ import annotations

import re

import numpy as np

from services.core.errors import InvalidInputError

__all__ = ["parse_edge_list", "parse_labels", "parse_matrix"]

_SEPARATORS = re.compile(rb"[,\t;]")


def _rows(data: bytes, name: str) -> list[list[bytes]]:
    lines = []
    for raw in data.splitlines():
        line = raw.split(b"#", 1)[0].strip()
        if line:
            lines.append(_SEPARATORS.sub(b" ", line).split())
    if lines and re.search(rb"[A-DF-Za-df-z_]", b" ".join(lines[0])):  # a header (but not 1e-3 numbers)
        lines = lines[1:]
    if not lines:
        raise InvalidInputError(f"{name} has no data lines", name)
    return lines


def _table(data: bytes, name: str, widths: tuple[int, ...] | None = None) -> np.ndarray:
    rows = _rows(data, name)
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width or (widths is not None and len(row) not in widths):
            expected = " or ".join(map(str, widths)) if widths else str(width)
            raise InvalidInputError(f"{name} data line {number} has {len(row)} columns; expected {expected}", name)
    try:
        return np.asarray([float(v) for row in rows for v in row], dtype=np.float64).reshape(len(rows), width)
    except ValueError as error:
        raise InvalidInputError(f"{name} holds a value that is not a number ({error})", name) from error


def parse_edge_list(data: bytes, name: str = "edges") -> tuple[np.ndarray, np.ndarray | None]:
    """Edges ``(2, E)`` int64 and optional times ``(E,)`` float64."""
    table = _table(data, name, widths=(2, 3))
    ids = table[:, :2]
    if not np.all(ids == np.round(ids)):
        raise InvalidInputError(f"{name}: node ids must be integers", name)
    edges = ids.T.astype(np.int64)
    return edges, (table[:, 2].copy() if table.shape[1] == 3 else None)


def parse_matrix(data: bytes, name: str = "features") -> np.ndarray:
    """A float32 ``(N, F)`` matrix, one row per node."""
    return _table(data, name).astype(np.float32)


def parse_labels(data: bytes, name: str = "labels") -> np.ndarray:
    """Labels ``(N,)`` int8."""
    table = _table(data, name, widths=(1,))
    if not np.all(table == np.round(table)) or table.min() < 0 or table.max() > 127:
        raise InvalidInputError(f"{name}: labels must be integers 0 (normal) to 127", name)
    return table[:, 0].astype(np.int8)
