"""Training progress: a tqdm bar on a terminal, one line per stage otherwise (logs, ``make up`` pipes)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

from tqdm.auto import trange

__all__ = ["progress"]


def progress(total: int, desc: str, unit: str = "step", enabled: bool = True) -> Iterator[int]:
    """``range(total)`` that reports progress: a live bar when stderr is a TTY, else a start and an end line."""
    if not enabled:
        yield from range(total)
        return
    if sys.stderr.isatty():
        yield from trange(total, desc=desc, unit=unit)
        return
    started = time.perf_counter()
    print(f"{desc}: {total} {unit}s ...", file=sys.stderr, flush=True)
    yield from range(total)
    print(f"{desc}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
