"""A minimal detector used to exercise the kernel (store, calibration) without model code.

It is a real detector under the contract (distance to the training mean), not a mock.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.contract import Detector, InputSpec
from services.core.errors import InvalidInputError


class MeanDistanceDetector(Detector):
    """Score = Euclidean distance of each row ``(n, d)`` to the training mean."""

    name = "mean-distance"
    modality = "tabular"

    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        self.mean_ = data.mean(axis=0)
        return {"rows": len(data)}

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return np.linalg.norm(batch - self.mean_, axis=1)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.mean_ = state["mean"]

    def input_spec(self) -> InputSpec:
        return InputSpec(dtype="float32", shape=[-1, -1], description="rows of features")

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 2:
            raise InvalidInputError(f"expected (n, d), got shape {batch.shape}")
        return batch
