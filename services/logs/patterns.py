"""User-supplied regular expressions (session patterns) run on RE2: linear time, so no input can wedge a service.

Python's ``re`` backtracks: ``(a+)+$`` on a 40-character line takes longer than the universe. RE2
guarantees time linear in the input and bounded memory; it rejects what it cannot do in linear
time (backreferences, look-around), and the error names the construct.
"""

from __future__ import annotations

from typing import Any

import re2

from services.core.errors import InvalidInputError

__all__ = ["MAX_PATTERN_CHARS", "Pattern", "compile_user_pattern"]

Pattern = Any  # an RE2 pattern object (search / match / groups, as Python's re.Pattern)
MAX_PATTERN_CHARS = 1000
_MAX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


def compile_user_pattern(pattern: str, field_name: str) -> Pattern | None:
    """The compiled pattern (None when empty); an invalid or unsupported one is an input error naming why."""
    if not pattern:
        return None
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidInputError(f"{field_name} has {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}",
                                field_name)
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise InvalidInputError(
            f"{field_name} is not a regular expression RE2 accepts ({reason}); patterns run in linear time, "
            "so backreferences and look-around are not supported", field_name
        ) from None
