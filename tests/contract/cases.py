"""Seeded data and small configurations for the contract test, one entry per modality / detector.

A detector registered without a case here makes the contract test fail, so every plugin is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ContractCase:
    """Training data, a test batch with labels, the unit count ``score`` must return.

    ``head(test, k)`` is the same kind of input restricted to its first ``k`` units (plain slicing for
    arrays; a graph case restricts its target nodes instead).
    """

    train: Any
    test: Any
    labels: np.ndarray
    min_auroc: float
    head: Callable[[Any, int], Any] = field(default=lambda batch, k: batch[:k])


def timeseries_case(seed: int) -> ContractCase:
    """A (1500, 2) seasonal series; the test part has a level shift and spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(2400, dtype=np.float32)
    series = np.stack([np.sin(2 * np.pi * t / 40), np.sin(2 * np.pi * t / 40 + 1.0)], axis=1)
    series += 0.05 * rng.standard_normal(series.shape)
    labels = np.zeros(900, dtype=np.int8)
    test = series[1500:].copy()
    test[300:340] += 2.5
    test[600:604] -= 4.0
    labels[300:340] = 1
    labels[600:604] = 1
    return ContractCase(series[:1500].astype(np.float32), test.astype(np.float32), labels, min_auroc=0.8)


def vision_case(seed: int) -> ContractCase:
    """16 normal 64x64 brick crops; 100 test crops, every other one with a synthetic defect."""
    from services.vision.data import inspection_set

    data = inspection_set("brick", n_train=16, n_test=100, size=64, seed=seed)
    return ContractCase(data.train_images, data.test_images, data.test_labels, min_auroc=0.75)


CASE_MODULES = {"logs": "logs_case", "graph": "graph_case", "medical": "medical_case",
                "tensorstream": "tensorstream_case", "hyperspectral": "hyperspectral_case",
                "traffic": "traffic_case"}
"""Modalities whose case lives in ``tests/contract/<module>.py`` (``case(seed)`` and ``SMALL_CONFIGS``)."""


def _lazy_case(module: str) -> Callable[[int], ContractCase]:
    return lambda seed: import_module(f"tests.contract.{module}").case(seed)


CASES: dict[str, Callable[[int], ContractCase]] = {
    "timeseries": timeseries_case,
    "vision": vision_case,
    **{modality: _lazy_case(module) for modality, module in CASE_MODULES.items()},
}

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "timeseries.comet": {"train_steps": 40, "window": 64, "patch_sizes": [8, 16], "d_model": 16, "n_heads": 2,
                         "memory_size": 128, "codebook_size": 16, "max_train_windows": 256},
    "vision.multi_ad": {"image_size": 64, "kd_steps": 30, "kd_crop": 64, "synthetic_per_image": 1,
                        "disc_steps": 20, "disc_batch": 8, "student_width": 16, "student_blocks": 1},
    "vision.patch_flow": {"image_size": 64, "layers": [0], "train_steps": 60, "batch_patches": 512, "flow_steps": 4,
                          "flow_hidden": 32},
    "vision.patchcore": {"image_size": 64, "layers": [0], "coreset_ratio": 0.05},
}


def small_config(key: str) -> dict[str, Any] | None:
    """The small test configuration of detector ``<service>.<name>``, or None when none is declared."""
    if key in SMALL_CONFIGS:
        return SMALL_CONFIGS[key]
    module = CASE_MODULES.get(key.split(".", 1)[0])
    return import_module(f"tests.contract.{module}").SMALL_CONFIGS.get(key) if module else None
