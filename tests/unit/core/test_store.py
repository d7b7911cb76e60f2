"""Model store: versions, LATEST pointer, immutability, atomicity under a killed writer."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from services.core.calibration import ConformalCalibrator
from services.core.errors import ModelNotFoundError
from services.core.store import ModelStore
from tests.unit.core.toy_detector import MeanDistanceDetector


def _fitted(offset: float) -> tuple[MeanDistanceDetector, ConformalCalibrator]:
    detector = MeanDistanceDetector().fit(np.full((10, 2), offset, dtype=np.float32))
    return detector, ConformalCalibrator().fit(np.arange(5.0))


def test_save_resolve_load(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    first = store.save("tabular", *_fitted(1.0), version="v1")
    second = store.save("tabular", *_fitted(2.0), version="v2")
    assert store.versions("tabular", "mean-distance") == ["v1", "v2"]
    assert store.resolve("tabular", "mean-distance").version == "v2"
    detector, calibrator = store.load(store.resolve("tabular", "mean-distance", "v1"), MeanDistanceDetector)
    np.testing.assert_allclose(detector.mean_, [1.0, 1.0])
    assert calibrator.size == 5
    assert {p.name for p in first.path.iterdir()} == {"weights.safetensors", "metadata.json", "calibration.safetensors"}
    with pytest.raises(FileExistsError):
        store.save("tabular", *_fitted(3.0), version="v1")
    assert second.path.exists()


def test_missing_models_are_not_found(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no trained"):
        store.resolve("tabular", "mean-distance")
    store.save("tabular", *_fitted(1.0), version="v1")
    with pytest.raises(ModelNotFoundError, match="known: v1"):
        store.resolve("tabular", "mean-distance", "v9")
    with pytest.raises(ModelNotFoundError):
        store.resolve("tabular", "mean-distance", "../v1")


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from services.core.calibration import ConformalCalibrator
    from services.core.store import ModelStore
    from tests.unit.core.toy_detector import MeanDistanceDetector

    class SlowSave(MeanDistanceDetector):
        def save(self, directory):
            super().save(directory)
            print("half-written", flush=True)
            time.sleep(60)

    detector = SlowSave().fit(np.ones((4, 2), dtype=np.float32))
    ModelStore(sys.argv[1]).save("tabular", detector, ConformalCalibrator().fit(np.arange(3.0)), version="v2")
    """
)


def test_a_write_killed_half_way_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    store.save("tabular", *_fitted(1.0), version="v1")
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.stdout is not None
    deadline = time.time() + 60
    while child.stdout.readline().strip() != "half-written":
        assert time.time() < deadline and child.poll() is None, "writer never reached the half-way point"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert store.versions("tabular", "mean-distance") == ["v1"]
    assert store.resolve("tabular", "mean-distance").version == "v1"
    detector, _ = store.load(store.resolve("tabular", "mean-distance"), MeanDistanceDetector)
    np.testing.assert_allclose(detector.mean_, [1.0, 1.0])
