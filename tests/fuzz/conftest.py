"""The fuzz suite's stack (every fuzzed service + a gateway on loopback) and its hypothesis profile.

Derandomized, no example database: the same examples every run. ``POLYAD_FUZZ_EXAMPLES`` sets the
examples per test (default 30; ``python bench/reliability.py --long`` runs the suite with many more).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.stack import Stack, build_store, start_stack
from tests.support.loop import LoopThread

EXAMPLES = int(os.environ.get("POLYAD_FUZZ_EXAMPLES", "30"))

settings.register_profile(
    "polyad-fuzz", max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.load_profile("polyad-fuzz")


@pytest.fixture(scope="session")
def fuzz_stack(loop_thread: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("fuzz-store")
    build_store(root)
    stack = start_stack(loop_thread, root)
    yield stack
    stack.stop()
