"""The default graph model of the embedded suite: ego-diffusion trained on the generated SBM snapshots."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.graph.config import SERVICE

__all__ = ["DEFAULT_DATASET", "train_default_model"]

DEFAULT_DATASET = "sbm"


def train_default_model(
    store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None,
    detector: str = "ego_diffusion",
) -> StoredModel:
    """Fit ``detector`` on the training snapshots of the bundled SBM graph (a fifth of normal nodes held out)."""
    from services.core import registry
    from services.graph.data import load_dataset
    from services.graph.experiments import training_data

    train, calibration = training_data(load_dataset(DEFAULT_DATASET))
    cls = registry.detector_class(SERVICE, detector)
    return fit_and_store(store, SERVICE, cls({"show_progress": progress, **(overrides or {})}), train, calibration)
