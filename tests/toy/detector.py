"""The toy detector: distance of each value from the training mean, in training standard deviations."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.contract import Detector, InputSpec
from services.core.errors import InvalidInputError
from services.core.store import ModelStore, StoredModel
from services.core.training import chronological_split, fit_and_store


class DistanceDetector(Detector[np.ndarray]):
    """Scores ``(n,)`` float32 values by ``|x - mean| / std``."""

    name = "distance"
    modality = "toy"

    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        self.mean_, self.std_ = np.float32(data.mean()), np.float32(data.std() + 1e-6)
        return {"n": int(data.size)}

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return np.abs(batch - self.mean_) / self.std_

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": np.array([self.mean_]), "std": np.array([self.std_])}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.mean_, self.std_ = np.float32(state["mean"][0]), np.float32(state["std"][0])

    def input_spec(self) -> InputSpec:
        return InputSpec(shape=[-1], description="values (N,)")

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 1 or batch.size == 0 or not np.isfinite(batch).all():
            raise InvalidInputError("values: expected a non-empty finite (N,) vector", "values")
        return batch


def train_default_model(store: ModelStore, progress: bool = False, overrides: dict | None = None) -> StoredModel:
    """Fit on 400 standard-normal values (seeded), calibrate on 100 more."""
    values = np.random.default_rng(0).standard_normal(500).astype(np.float32)
    return fit_and_store(store, "toy", DistanceDetector(overrides), *chronological_split(values, 0.2))
