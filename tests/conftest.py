"""Session fixtures: one trained tiny COMET model store, one shared Ray, real services on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.loop import LoopThread

TINY_COMET = {"train_steps": 40, "memory_size": 128, "coreset_pool": 2048, "codebook_size": 16, "window": 64,
              "patch_sizes": [8, 16], "d_model": 16, "n_heads": 2, "max_train_windows": 256}


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def normal_series() -> np.ndarray:
    """A (2000, 2) seasonal normal series."""
    t = np.arange(2000, dtype=np.float32)
    rng = np.random.default_rng(0)
    base = np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], axis=1)
    return (base + 0.05 * rng.standard_normal(base.shape)).astype(np.float32)


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory, normal_series: np.ndarray) -> Path:
    """A model store holding a tiny trained COMET (timeseries/comet, latest)."""
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.timeseries.detectors.comet import CometDetector

    root = tmp_path_factory.mktemp("store")
    train, calibration = chronological_split(normal_series, 0.25)
    fit_and_store(ModelStore(root), "timeseries", CometDetector(TINY_COMET), train, calibration)
    return root


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One local Ray for the whole session, its temp dir inside the test's temporary directory."""
    import ray
    from ray import serve

    temp_dir = str(tmp_path_factory.mktemp("ray"))
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp_dir, log_to_driver=False,
             namespace="polyad-tests")
    yield temp_dir
    serve.shutdown()
    ray.shutdown()


TINY_MULTI_AD = {"image_size": 64, "kd_steps": 5, "kd_crop": 64, "synthetic_per_image": 1, "disc_steps": 5,
                 "disc_batch": 4, "student_width": 8, "student_blocks": 1}


@pytest.fixture(scope="session")
def vision_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store holding a tiny trained Multi-AD (vision/multi_ad, latest, 64x64): fast, not accurate."""
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.vision.data import inspection_set
    from services.vision.detectors.multi_ad import MultiADDetector

    root = tmp_path_factory.mktemp("vision-store")
    images = inspection_set("brick", n_train=8, n_test=2, size=64, seed=3).train_images
    fit_and_store(ModelStore(root), "vision", MultiADDetector(TINY_MULTI_AD), *chronological_split(images, 0.25))
    return root
