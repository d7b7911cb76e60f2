"""Input rules, session grouping, the generators and the loghub loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.errors import InvalidInputError
from services.logs.data import generated_bgl, generated_hdfs, load_bgl, load_hdfs, load_thunderbird
from services.logs.generators import generate_bgl_like, generate_hdfs_like
from services.logs.text import LineStats, group_lines, join_sessions, split_text


def test_split_text_replaces_bad_bytes_skips_blank_and_truncates() -> None:
    stats = LineStats()
    lines = split_text(b"ok\r\n\n  \n\xff\xfe bad\n" + b"x" * 50, max_chars=20, stats=stats)
    assert lines == ["ok", "\ufffd\ufffd bad", "x" * 20]
    assert stats.skipped_empty == 2 and stats.truncated == 1


def test_group_lines_by_pattern_then_windows() -> None:
    lines = ["a blk_1 x", "b", "c blk_2", "d blk_1", "e", "f"]
    groups = group_lines(lines, r"(blk_\d+)", window_lines=2)
    assert groups == [("blk_1", ["a blk_1 x", "d blk_1"]), ("window-0", ["b", "e"]), ("blk_2", ["c blk_2"]),
                      ("window-1", ["f"])]
    assert join_sessions([["a", "b"], ["c"]]).tolist() == ["a\nb", "c"]


def test_hdfs_like_generator_is_realistic_and_labelled() -> None:
    lines, labels, order = generate_hdfs_like(400, anomaly_rate=0.05, seed=3)
    assert len(order) == 400 and 0.02 < np.mean(list(labels.values())) < 0.1
    templates = {" ".join(w for w in line.split()[3:] if not any(c.isdigit() for c in w)) for line in lines}
    assert len(templates) >= 12  # many templates once variable fields are dropped
    assert lines == sorted(lines, key=lambda x: x[:13])  # time-ordered
    assert any("IOException" in x or "Exception" in x for x in lines)


def test_generated_sets_are_chronological_with_natural_rates() -> None:
    hdfs = generated_hdfs(600, seed=2)
    train, _validation, test = hdfs.split()
    assert len(train.sessions) == 360 and len(test.sessions) == 120
    assert 0.01 < hdfs.labels.mean() < 0.06
    bgl = generated_bgl(8000, seed=2)
    assert len(bgl.sessions) == 400 and 0.005 < bgl.labels.mean() < 0.1
    assert all(len(s.split("\n")) == 20 for s in bgl.sessions)


def test_loghub_loaders_read_the_generated_files(tmp_path: Path) -> None:
    lines, labels, _ = generate_hdfs_like(50, anomaly_rate=0.2, seed=4)
    (tmp_path / "HDFS.log").write_text("\n".join(lines) + "\n")
    rows = [f"{block},{'Anomaly' if label else 'Normal'}" for block, label in labels.items()]
    (tmp_path / "anomaly_label.csv").write_text("BlockId,Label\n" + "\n".join(rows) + "\n")
    hdfs = load_hdfs(tmp_path / "HDFS.log", tmp_path / "anomaly_label.csv")
    assert len(hdfs.sessions) == 50 and hdfs.labels.sum() == sum(labels.values())
    assert all(block in session for block, session in zip(hdfs.ids, hdfs.sessions, strict=True))
    (tmp_path / "BGL.log").write_bytes("\n".join(generate_bgl_like(200, seed=1)).encode() + b"\n\xff bad\n")
    bgl = load_bgl(tmp_path / "BGL.log", window_lines=50)
    assert len(bgl.sessions) == 5 and not bgl.sessions[0].startswith("- ")
    assert load_thunderbird(tmp_path / "BGL.log", window_lines=100).labels.shape == (3,)
    with pytest.raises(InvalidInputError, match="window_lines"):
        load_bgl(tmp_path / "BGL.log", window_lines=0)
