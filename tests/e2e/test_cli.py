"""The ``polyad`` command line against real servers: train into a store, score through the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import TINY_COMET
from tests.support.loop import LoopThread
from tests.support.services import start_gateway, start_timeseries

ROOT = Path(__file__).resolve().parents[2]


def polyad(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "polyad.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def stack(loop_thread: LoopThread, model_store: Path) -> Iterator[SimpleNamespace]:
    service = start_timeseries(loop_thread, model_store)
    gateway = start_gateway(loop_thread, {"timeseries": f"127.0.0.1:{service.port}"})
    yield SimpleNamespace(gateway=f"127.0.0.1:{gateway.grpc_port}")
    loop_thread.run(gateway.stop())
    loop_thread.run(service.stop())


def test_help_lists_the_commands() -> None:
    result = polyad("--help")
    assert result.returncode == 0 and all(word in result.stdout for word in ("up", "train", "score", "eval"))


def test_train_from_csv_writes_a_version(tmp_path: Path, normal_series: np.ndarray) -> None:
    data = tmp_path / "normal.csv"
    np.savetxt(data, normal_series[:1500], delimiter=",", header="a,b", comments="")
    result = polyad("train", "timeseries", "--data", str(data), "--store", str(tmp_path / "store"),
                    "--config", json.dumps(TINY_COMET))
    assert result.returncode == 0, result.stderr
    versions = list((tmp_path / "store" / "timeseries" / "comet").iterdir())
    assert any(v.name == "LATEST" for v in versions) and len(versions) == 2


def test_score_prints_flagged_regions_and_plots(stack: SimpleNamespace, tmp_path: Path,
                                                normal_series: np.ndarray) -> None:
    values = normal_series[:1000].copy()
    values[500:520] += 5.0
    path = tmp_path / "series.csv"
    np.savetxt(path, values, delimiter=",")
    result = polyad("score", "timeseries", str(path), "--gateway", stack.gateway, "--json",
                    "--plot", str(tmp_path / "out.png"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)[0]
    assert report["points"] == 1000
    assert any(r["start"] <= 519 and r["end"] >= 500 for r in report["regions"])
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    table = polyad("score", "timeseries", str(path), "--gateway", stack.gateway)
    assert table.returncode == 0 and "flagged regions" in table.stdout


def test_score_reports_bad_files_and_dead_gateway(stack: SimpleNamespace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,oops\n")
    result = polyad("score", "timeseries", str(bad), "--gateway", stack.gateway)
    assert result.returncode != 0 and "not a number" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("1\n2\n3\n")
    result = polyad("score", "timeseries", str(good), "--gateway", "127.0.0.1:1", "--timeout", "3")
    assert result.returncode == 2 and "UNAVAILABLE" in result.stdout
