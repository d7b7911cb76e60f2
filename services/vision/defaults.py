"""The default vision model of the embedded suite: Multi-AD trained on the built-in inspection set."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import chronological_split, fit_and_store
from services.vision.config import SERVICE

__all__ = ["DEFAULT_CATEGORY", "train_default_model"]

DEFAULT_CATEGORY = "brick"


def train_default_model(
    store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None, detector: str = "multi_ad"
) -> StoredModel:
    """Fit ``detector`` on normal crops of the bundled ``brick`` texture (a fifth held out to calibrate)."""
    from services.core import registry
    from services.vision.data import inspection_set

    dataset = inspection_set(DEFAULT_CATEGORY, n_train=80, n_test=0, seed=0)
    train, calibration = chronological_split(dataset.train_images, 0.2)
    cls = registry.detector_class(SERVICE, detector)
    return fit_and_store(store, SERVICE, cls({"show_progress": progress, **(overrides or {})}), train, calibration)
