"""Fit a detector on normal data, calibrate it on held-out normal data, and store the version."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from services.core.calibration import ConformalCalibrator
from services.core.contract import Detector
from services.core.errors import InvalidInputError
from services.core.store import ModelStore, StoredModel

__all__ = ["build_detector", "chronological_split", "fit_and_store", "fit_options"]


def build_detector(cls: type[Detector], overrides: dict[str, Any]) -> Detector:
    """A configured detector; invalid overrides are an input error naming the field."""
    try:
        return cls(overrides)
    except ValueError as error:  # pydantic ValidationError is a ValueError
        raise InvalidInputError(f"invalid {cls.name} configuration: {error}") from error


def fit_options(config_json: str, calibration_fraction: float) -> tuple[dict[str, Any], float]:
    """(config overrides, calibration fraction) from a Fit request; 0 means the default 0.2."""
    fraction = calibration_fraction or 0.2
    if not 0.0 < fraction < 0.9:
        raise InvalidInputError(f"calibration_fraction must be in (0, 0.9), got {fraction}", "calibration_fraction")
    try:
        overrides = json.loads(config_json) if config_json else {}
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"config_json is not valid JSON: {error}", "config_json") from error
    if not isinstance(overrides, dict):
        raise InvalidInputError("config_json must be a JSON object", "config_json")
    return overrides, fraction


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
    groups = detector.calibration_groups(calibration, held_out, calibrator)
    if groups is not None:
        calibrator.fit_groups(held_out, groups)
    stream = detector.stream_calibration_scores(calibration)
    if stream is not None:
        calibrator.fit_stream(stream)
    detector.metrics_ = {
        **detector.metrics_,
        "calibration_size": float(held_out.size),
        "calibration_score_median": float(np.median(held_out)),
        "calibration_score_q99": float(np.quantile(held_out, 0.99)),
    }
    return store.save(service, detector, calibrator)
