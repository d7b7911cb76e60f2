"""Labelled log datasets: loaders for the loghub formats and the generated HDFS-like / BGL-like sets.

A :class:`LogDataset` holds sessions in chronological order (by first line), each a newline-joined
string, with a 0/1 label per session. HDFS sessions are block ids (``anomaly_label.csv`` gives the
labels); BGL and Thunderbird carry a label per line (``-`` = normal) and are cut into fixed windows of
consecutive lines (a window is anomalous when any line is).
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.core.errors import InvalidInputError
from services.logs.text import join_sessions

__all__ = [
    "DPKG_SAMPLE",
    "HDFS_BLOCK_PATTERN",
    "LogDataset",
    "generated_bgl",
    "generated_hdfs",
    "load_bgl",
    "load_dpkg",
    "load_hdfs",
    "load_thunderbird",
]

HDFS_BLOCK_PATTERN = r"(blk_-?\d+)"
_DPKG_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")
DPKG_SAMPLE = Path(__file__).parent / "samples" / "dpkg.log.gz"
"""A real ``/var/log/dpkg.log`` (Debian 12 image building this suite: 5,898 lines, 811 package-day sessions)."""


@dataclass(frozen=True)
class LogDataset:
    """Sessions ``(n,)`` object array of joined lines, labels ``(n,)`` int8, ids ``(n,)``, in time order."""

    name: str
    sessions: np.ndarray
    labels: np.ndarray
    ids: list[str]

    def split(self, train: float = 0.6, validation: float = 0.2) -> tuple[LogDataset, LogDataset, LogDataset]:
        """Chronological train / validation / test parts (no shuffling, natural anomaly rate)."""
        n = len(self.sessions)
        a, b = int(n * train), int(n * (train + validation))
        return self._part(0, a, "train"), self._part(a, b, "validation"), self._part(b, n, "test")

    def _part(self, start: int, end: int, suffix: str) -> LogDataset:
        return LogDataset(f"{self.name}/{suffix}", self.sessions[start:end], self.labels[start:end],
                          self.ids[start:end])

    def normal(self) -> np.ndarray:
        """The normal sessions ``(m,)``."""
        return self.sessions[self.labels == 0]


def _from_groups(name: str, groups: dict[str, list[str]], labels: dict[str, int]) -> LogDataset:
    ids = list(groups)
    return LogDataset(name, join_sessions(groups[i] for i in ids),
                      np.array([labels.get(i, 0) for i in ids], dtype=np.int8), ids)


def load_hdfs(log_path: str | Path, label_path: str | Path) -> LogDataset:
    """loghub HDFS: ``HDFS.log`` grouped by block id, labels from ``anomaly_label.csv`` (BlockId,Label)."""
    labels: dict[str, int] = {}
    with open(label_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if "BlockId" not in row or "Label" not in row:
                raise InvalidInputError(f"{label_path}: expected the columns BlockId,Label")
            labels[row["BlockId"]] = int(row["Label"].strip().lower() == "anomaly")
    pattern, groups = re.compile(HDFS_BLOCK_PATTERN), {}
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            found = pattern.search(line)
            if found and line.strip():
                groups.setdefault(found.group(1), []).append(line.rstrip("\r\n"))
    if not groups:
        raise InvalidInputError(f"{log_path}: no line names a block id (blk_...)")
    return _from_groups(Path(log_path).stem, groups, labels)


def _load_labelled_lines(path: str | Path, window_lines: int, name: str) -> LogDataset:
    if window_lines < 1:
        raise InvalidInputError(f"window_lines must be at least 1, got {window_lines}")
    groups: dict[str, list[str]] = {}
    labels: dict[str, int] = {}
    count = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            label, _, line = raw.rstrip("\r\n").partition(" ")
            if not line.strip():
                continue
            key = f"window-{count // window_lines}"
            groups.setdefault(key, []).append(line)
            labels[key] = max(labels.get(key, 0), int(label != "-"))
            count += 1
    if not groups:
        raise InvalidInputError(f"{path}: no log lines")
    return _from_groups(name, groups, labels)


def load_bgl(path: str | Path, window_lines: int = 20) -> LogDataset:
    """loghub BGL: per-line labels (first field, ``-`` = normal), sessions of ``window_lines`` lines."""
    return _load_labelled_lines(path, window_lines, Path(path).stem)


def load_thunderbird(path: str | Path, window_lines: int = 20) -> LogDataset:
    """loghub Thunderbird: the same layout as BGL (label first), windows of ``window_lines`` lines."""
    return _load_labelled_lines(path, window_lines, Path(path).stem)


def load_dpkg(path: str | Path = DPKG_SAMPLE) -> LogDataset:
    """A dpkg log (``/var/log/dpkg.log``, plain or ``.gz``) as sessions of one package on one day, all labels 0.

    Lines are ``date time action package ...`` or ``date time status state package version``; a session
    is every line about one package (``name:arch``) on one day, as an operator reviews an upgrade;
    run-level lines (``startup archives unpack``) name no package and are left out.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    groups: dict[str, list[str]] = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            fields = raw.split()
            if len(fields) < 4 or fields[2] == "startup" or not _DPKG_STAMP.match(raw):
                continue
            package = fields[4] if fields[2] == "status" and len(fields) > 4 else fields[3]
            groups.setdefault(f"{fields[0]} {package}", []).append(raw.rstrip("\r\n"))
    if not groups:
        raise InvalidInputError(f"{path}: no dpkg lines (expected 'date time action package ...')")
    return _from_groups(Path(path).name.split(".")[0], groups, {})


def generated_hdfs(n_sessions: int = 2000, anomaly_rate: float = 0.03, seed: int = 0) -> LogDataset:
    """The generated HDFS-like data set, sessions by block id in order of first line."""
    from services.logs.generators import generate_hdfs_like

    lines, labels, order = generate_hdfs_like(n_sessions, anomaly_rate, seed)
    pattern, groups = re.compile(HDFS_BLOCK_PATTERN), {block: [] for block in order}
    for line in lines:
        groups[pattern.search(line).group(1)].append(line)
    firsts = {block: i for i, block in enumerate(dict.fromkeys(pattern.search(x).group(1) for x in lines))}
    ordered = dict(sorted(groups.items(), key=lambda item: firsts[item[0]]))
    return _from_groups("hdfs-like", ordered, labels)


def generated_bgl(n_lines: int = 40_000, seed: int = 0, window_lines: int = 20) -> LogDataset:
    """The generated BGL-like data set, windows of ``window_lines`` lines (label stripped from lines)."""
    from services.logs.generators import generate_bgl_like

    groups: dict[str, list[str]] = {}
    labels: dict[str, int] = {}
    for index, raw in enumerate(generate_bgl_like(n_lines, seed=seed)):
        label, _, line = raw.partition(" ")
        key = f"window-{index // window_lines}"
        groups.setdefault(key, []).append(line)
        labels[key] = max(labels.get(key, 0), int(label != "-"))
    return _from_groups("bgl-like", groups, labels)
