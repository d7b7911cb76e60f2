"""Session patterns run on RE2: a catastrophic-backtracking pattern answers at once; unsupported ones are named."""

from __future__ import annotations

import time

import pytest

from services.core.errors import InvalidInputError
from services.logs.patterns import MAX_PATTERN_CHARS, compile_user_pattern
from services.logs.text import group_lines


def test_the_pattern_that_wedged_the_service_now_runs_in_linear_time() -> None:
    pattern = compile_user_pattern("(a+)+$", "session_pattern")
    started = time.perf_counter()
    for length in (41, 10_000, 1_000_000):
        assert pattern.search("a" * length + "!") is None
    assert time.perf_counter() - started < 1.0  # Python's re needs longer than the universe at 41 characters


@pytest.mark.parametrize(("pattern", "construct"), [(r"(a)\1", r"\1"), (r"(?<=x)y", "(?<="), (r"(?=x)", "(?=")])
def test_unsupported_constructs_are_input_errors_naming_them(pattern: str, construct: str) -> None:
    with pytest.raises(InvalidInputError, match="RE2") as caught:
        compile_user_pattern(pattern, "file.session_pattern")
    assert construct in str(caught.value) and caught.value.field == "file.session_pattern"


def test_long_patterns_and_bad_syntax_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        compile_user_pattern("a" * (MAX_PATTERN_CHARS + 1), "session_pattern")
    with pytest.raises(InvalidInputError, match="missing \\)"):
        compile_user_pattern("(blk_", "session_pattern")


def test_grouping_uses_the_first_group_as_before() -> None:
    lines = ["x blk_1 a", "y blk_2 b", "z blk_1 c", "no key"]
    assert group_lines(lines, r"(blk_\d+)", 10) == [
        ("blk_1", ["x blk_1 a", "z blk_1 c"]), ("blk_2", ["y blk_2 b"]), ("window-0", ["no key"])]
