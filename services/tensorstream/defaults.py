"""The default tensor-stream model of the embedded suite: HeteroComp on a generated network stream."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.tensorstream.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "default_training_events", "train_default_model"]

DEFAULT_CONFIG: dict[str, Any] = {"window_seconds": 60.0, "n_components": 8}
"""Minute windows (the network stream's natural scale); K = 8 as in the benchmark's quick runs."""


def default_training_events(hours: float = 24.0, seed: int = 0):  # type: ignore[no-untyped-def]
    """(train, calibration): ``hours`` of clean generated network flows (≈ 1 flow/s); the trailing fifth is
    held out to calibrate event p-values."""
    from services.tensorstream.netgen import network_stream

    events = network_stream(seed=seed, days=hours / 24.0, rate=1.0, n_anomalies=0).events
    split = round(len(events) * 0.8)
    return events.take(slice(0, split)), events.take(slice(split, len(events)))


def train_default_model(store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None
                        ) -> StoredModel:
    """Fit HeteroComp on 24 generated hours of network flows (≈ 3 s on 2 cores)."""
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector

    config = {**DEFAULT_CONFIG, "show_progress": progress, **(overrides or {})}
    train, calibration = default_training_events()
    return fit_and_store(store, SERVICE, HeteroCompDetector(config), train, calibration)
