"""The export gate: a TorchScript graph in a Triton repository scores like the PyTorch detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.core.store import ModelStore, StoredModel
from services.core.triton.export import NotExportableError, export_graph, load_traced, run_traced
from services.core.triton.repository import (
    MODEL_FILE,
    RepositoryVersion,
    export_version,
    find_version,
    read_config,
)


@pytest.fixture(scope="module")
def stored(vision_store: Path) -> StoredModel:
    return ModelStore(vision_store).resolve("vision", "multi_ad")


@pytest.fixture(scope="module")
def repository(stored: StoredModel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RepositoryVersion]:
    from services.vision.detectors.multi_ad import MultiADDetector

    root = tmp_path_factory.mktemp("repository")
    return root, export_version(root, stored, MultiADDetector)


def test_exported_graph_agrees_with_pytorch(stored: StoredModel, repository: tuple[Path, RepositoryVersion]) -> None:
    from services.vision.detectors.multi_ad import MultiADDetector

    exported = repository[1]
    assert (exported.name, exported.version, exported.store_version) == ("vision-multi_ad", 1, stored.version)
    traced, detector = load_traced(exported.path / MODEL_FILE), MultiADDetector.load(stored.path)
    rng = np.random.default_rng(0)
    for n in (1, 3):  # the traced batch was 2: other sizes (up to max_batch_size) must still be right
        images = rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
        scores, maps = run_traced(traced, images)
        expected_scores, expected_maps = detector.score_and_maps(images)
        assert scores.shape == (n,) and maps.shape == (n, 64, 64) and scores.dtype == np.float32
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(maps, expected_maps, rtol=1e-5, atol=1e-6)


def test_repository_layout_and_idempotent_export(
    stored: StoredModel, repository: tuple[Path, RepositoryVersion]
) -> None:
    from services.vision.detectors.multi_ad import MultiADDetector

    root, first = repository
    assert export_version(root, stored, MultiADDetector) == first == find_version(root, stored)
    config = read_config(root, "vision-multi_ad")
    assert config.platform == "pytorch_libtorch" and config.max_batch_size == 16
    assert [(t.name, list(t.dims)) for t in config.input] == [("images__0", [64, 64, 3])]
    assert [(t.name, list(t.dims), t.HasField("reshape")) for t in config.output] == [
        ("scores__0", [1], True), ("anomaly_map__1", [64, 64], False)]
    assert sorted(p.name for p in (root / "vision-multi_ad").iterdir()) == ["1", "config.pbtxt"]


def test_comet_is_not_exportable() -> None:
    from services.timeseries.detectors.comet import CometDetector

    with pytest.raises(NotExportableError, match=r"timeseries\.comet"):
        export_graph(CometDetector())
