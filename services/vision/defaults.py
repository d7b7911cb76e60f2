"""The default vision model of the embedded suite: Multi-AD trained on the built-in inspection set."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.vision.config import SERVICE

__all__ = ["DEFAULT_CATEGORY", "train_default_model"]

DEFAULT_CATEGORY = "brick"
FIT_IMAGES = 64
CALIBRATION_IMAGES = 199


def train_default_model(
    store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None, detector: str = "multi_ad"
) -> StoredModel:
    """Fit ``detector`` on 64 normal crops of the bundled ``brick`` texture; calibrate on 199 crops of a
    region no training crop touches (``services.vision.data.REGIONS``), so calibration scores are
    exchangeable with scores of new brick images rather than optimistic."""
    from services.core import registry
    from services.vision.data import normal_crops

    # 64 crops to fit, 199 to calibrate: conformal p-values go down to 1/200, so the default alpha 0.01
    # can flag a defect (with 16 calibration images no p-value could fall below 1/17).
    train = normal_crops(DEFAULT_CATEGORY, "train", FIT_IMAGES, seed=0)
    calibration = normal_crops(DEFAULT_CATEGORY, "calibration", CALIBRATION_IMAGES, seed=0)
    cls = registry.detector_class(SERVICE, detector)
    return fit_and_store(store, SERVICE, cls({"show_progress": progress, **(overrides or {})}), train, calibration)
