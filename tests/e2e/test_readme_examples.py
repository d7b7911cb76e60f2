"""The README's code examples run as written against a real gateway and time-series service."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.support.loop import LoopThread
from tests.support.services import start_gateway, start_timeseries

README = Path(__file__).resolve().parents[2] / "README.md"


def python_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    match = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_use_from_tritonclient(loop_thread: LoopThread, model_store: Path, capsys: pytest.CaptureFixture) -> None:
    service = start_timeseries(loop_thread, model_store)
    gateway = start_gateway(loop_thread, {"timeseries": f"127.0.0.1:{service.port}"})
    try:
        code = python_block("## Use from tritonclient")
        code = code.replace("127.0.0.1:50051", f"127.0.0.1:{gateway.grpc_port}")
        code = code.replace("127.0.0.1:8080", f"127.0.0.1:{gateway.http_port}")
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # the example's own asserts must hold
        scores = namespace["scores"]
        assert scores.shape == (2000,) and scores[1200:1210].mean() > np.median(scores)
        assert "top-scored points" in capsys.readouterr().out
    finally:
        loop_thread.run(gateway.stop())
        loop_thread.run(service.stop())
