"""docs/limits.md is generated from the settings; it must match the code's defaults."""

from __future__ import annotations

from scripts import limits_table


def test_limits_doc_is_current() -> None:
    assert limits_table.DOC.read_text(encoding="utf-8") == limits_table.render(), (
        "docs/limits.md is out of date: run python scripts/limits_table.py"
    )


def test_every_size_limit_of_every_service_is_listed() -> None:
    text = limits_table.render()
    for needle in ("POLYAD_LOGS_MAX_LINES_PER_REQUEST", "POLYAD_GRAPH_MAX_EDGES", "POLYAD_VISION_MAX_PIXELS",
                   "POLYAD_GATEWAY_MAX_STREAMS_PER_SERVICE", "grpc.keepalive_time_ms"):
        assert needle in text
