"""The default logs model of the embedded suite: ContraLog trained on generated HDFS-like logs."""

from __future__ import annotations

from typing import Any

from services.core.store import ModelStore, StoredModel
from services.core.training import chronological_split, fit_and_store
from services.logs.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "train_default_model"]

DEFAULT_CONFIG: dict[str, Any] = {}


def train_default_model(
    store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None, n_sessions: int = 3000
) -> StoredModel:
    """Fit ContraLog on the normal sessions of generated HDFS-like logs (a fifth held out to calibrate).

    The model remembers the HDFS block-id pattern, so raw HDFS-style files are grouped by block.
    """
    from services.logs.data import HDFS_BLOCK_PATTERN, generated_hdfs
    from services.logs.detectors.contralog import ContraLogDetector

    normal = generated_hdfs(n_sessions, seed=0).normal()
    train, calibration = chronological_split(normal, 0.2)
    config = {**DEFAULT_CONFIG, "session_pattern": HDFS_BLOCK_PATTERN, "show_progress": progress, **(overrides or {})}
    return fit_and_store(store, SERVICE, ContraLogDetector(config), train, calibration)
