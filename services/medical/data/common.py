"""The slice dataset every loader returns, and the error for absent system data files."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MissingDataError", "SliceSet"]


class MissingDataError(FileNotFoundError):
    """A data file that a system package provides is absent; the message names the package to install."""


@dataclass
class SliceSet:
    """Normal training stacks, a normal validation split and a labelled test split (all 2.5D, in [0, 1]).

    ``train (N, 3, H, W)``, ``val (V, 3, H, W)``, ``test (M, 3, H, W)`` float32; ``test_labels (M,)`` int64
    (1 = anomalous); ``test_masks (M, H, W)`` bool; ``*_pos`` slice positions (axial index, 0 for 2-D sets)
    used by position-aware baselines; ``test_kinds`` the lesion kind per test item (``"good"`` when normal).
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    test_masks: np.ndarray
    train_pos: np.ndarray
    val_pos: np.ndarray
    test_pos: np.ndarray
    test_kinds: list[str] = field(default_factory=list)
    has_masks: bool = True
