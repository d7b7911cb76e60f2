"""The default time-series model of the embedded suite: COMET trained on the bundled aeon series."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import chronological_split, fit_and_store
from services.timeseries.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "train_default_model"]

DEFAULT_CONFIG: dict[str, Any] = {}


def train_default_model(
    store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None
) -> StoredModel:
    """Fit COMET on the normal TRAIN split of aeon's KDD-TSAD 135 series (tail held out to calibrate)."""
    from services.timeseries.data import load_aeon_kdd135
    from services.timeseries.detectors.comet import CometDetector

    series = load_aeon_kdd135()
    train, calibration = chronological_split(series.train, 0.2)
    detector = CometDetector({**DEFAULT_CONFIG, "show_progress": progress, **(overrides or {})})
    return fit_and_store(store, SERVICE, detector, train, calibration)
