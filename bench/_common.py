"""Shared pieces of the serving benchmarks: a trained default model, percentiles, and a small table."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def trained_store() -> Path:
    """A fresh model store with the default COMET trained on the bundled aeon series."""
    from services.core.store import ModelStore
    from services.timeseries.defaults import train_default_model

    root = Path(tempfile.mkdtemp(prefix="polyad-bench-"))
    train_default_model(ModelStore(root))
    return root


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    values = np.asarray(seconds) * 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain-text table (stable in CI logs and READMEs)."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
