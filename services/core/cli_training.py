"""``polyad train <service>``: the part every service shares (store, overrides, fit, calibrate, report)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

__all__ = ["train_version"]

console = Console()


def train_version(
    args: argparse.Namespace,
    service: str,
    train_default: Callable[[Any, dict[str, Any]], Any],
    load_split: Callable[[dict[str, Any]], tuple[Any, Any]],
) -> int:
    """Store a new version: the default model when ``--data`` is absent, else ``args.detector`` fitted on it.

    ``train_default(store, overrides)`` trains the bundled default; ``load_split(overrides)`` reads
    ``args.data`` and returns ``(fit, calibration)`` — the calibration part is never seen in fit.
    """
    from services.core import registry
    from services.core.store import ModelStore
    from services.core.training import build_detector, fit_and_store

    store = ModelStore(args.store)
    overrides = {**json.loads(args.config), "show_progress": True}
    if args.data is None:
        stored = train_default(store, overrides)
    else:
        fit, calibration = load_split(overrides)
        detector = build_detector(registry.detector_class(service, args.detector), overrides)
        stored = fit_and_store(store, service, detector, fit, calibration)
    console.print(f"stored [bold]{service}/{stored.detector}[/] version [bold]{stored.version}[/] at {stored.path}")
    return 0
