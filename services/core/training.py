"""Fit a detector on normal data, calibrate it on held-out normal data, and store the version."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.calibration import ConformalCalibrator
from services.core.contract import Detector
from services.core.errors import InvalidInputError
from services.core.store import ModelStore, StoredModel

__all__ = ["build_detector", "chronological_split", "fit_and_store"]


def build_detector(cls: type[Detector], overrides: dict[str, Any]) -> Detector:
    """A configured detector; invalid overrides are an input error naming the field."""
    try:
        return cls(overrides)
    except ValueError as error:  # pydantic ValidationError is a ValueError
        raise InvalidInputError(f"invalid {cls.name} configuration: {error}") from error


def chronological_split(values: np.ndarray, calibration_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, calibration): the trailing ``calibration_fraction`` of ``values`` ``(T, ...)`` is held out."""
    split = round(len(values) * (1.0 - calibration_fraction))
    return values[:split], values[split:]


def fit_and_store(
    store: ModelStore, service: str, detector: Detector, train: np.ndarray, calibration: np.ndarray
) -> StoredModel:
    """Fit on ``train``, calibrate on ``calibration`` (never seen in fit), write a new version."""
    detector.fit(train)
    held_out = detector.score(calibration)
    calibrator = ConformalCalibrator().fit(held_out)
    detector.metrics_ = {
        **detector.metrics_,
        "calibration_size": float(held_out.size),
        "calibration_score_median": float(np.median(held_out)),
        "calibration_score_q99": float(np.quantile(held_out, 0.99)),
    }
    return store.save(service, detector, calibrator)
