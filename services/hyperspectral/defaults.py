"""The default hyperspectral model of the embedded suite: DMS2F-HAD on a generated urban-like background scene.

Calibration: conformal p-values need background scores the model never fitted. The default model is fitted
on one generated background scene (no targets, seed 0) and calibrated on every pixel of a second, independent
background scene of the same kind (seed 1): 4,096 held-out pixel scores, so the smallest p-value is 1/4,097.
"""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.hyperspectral.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "DEFAULT_KIND", "DEFAULT_SIZE", "default_training_cubes", "train_default_model"]

DEFAULT_KIND = "urban"
DEFAULT_SIZE = (64, 64)
DEFAULT_CONFIG: dict[str, Any] = {"epochs": 8, "train_pixels": 1024, "threads": 1}
"""The detector's architecture defaults, fewer epochs and pixels per epoch (≈ 30 s on 2 busy cores)."""


def default_training_cubes(kind: str = DEFAULT_KIND, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0):  # type: ignore[no-untyped-def]
    """(train, calibration): two independent generated background scenes ``(H, W, 220)`` without targets."""
    from services.hyperspectral.scenes import make_scene

    train = make_scene(kind, seed=seed, size=size, target_fraction=0.0).cube
    calibration = make_scene(kind, seed=seed + 1, size=size, target_fraction=0.0).cube
    return train, calibration


def train_default_model(store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None
                        ) -> StoredModel:
    """Fit DMS2F-HAD on a 64×64 generated urban-like background, calibrate on a second one (< 1 min, 2 cores)."""
    from services.hyperspectral.detectors.dms2f_had import DMS2FHADDetector

    config = {**DEFAULT_CONFIG, "show_progress": progress, **(overrides or {})}
    train, calibration = default_training_cubes()
    return fit_and_store(store, SERVICE, DMS2FHADDetector(config), train, calibration)
