"""``polyad eval vision --data <MVTec AD root>`` on a small MVTec-layout folder of real PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from polyad.cli import main
from services.vision.data import load_mvtec
from services.vision.experiments import evaluate_detector


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def mvtec_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two categories (``ihc``, ``moon``) in MVTec AD layout, cut from the holdout photographs."""
    from services.vision.holdout import holdout_set

    root = tmp_path_factory.mktemp("mvtec")
    for name in ("ihc", "moon"):
        data = holdout_set(name, n_train=6, n_calibration=1, n_test=8, size=96, seed=0)
        for i, image in enumerate(data.train_images):
            _write(root / name / "train" / "good" / f"{i:03d}.png", image)
        for i, (image, mask, kind) in enumerate(zip(data.test_images, data.test_masks, data.test_defects, strict=True)):
            _write(root / name / "test" / kind / f"{i:03d}.png", image)
            if kind != "good":
                _write(root / name / "ground_truth" / kind / f"{i:03d}_mask.png", mask.astype(np.uint8) * 255)
    return root


def test_eval_prints_anomalib_tables_with_the_protocol_figures(mvtec_root: Path, capsys: pytest.CaptureFixture) -> None:
    from services.core import registry

    assert main(["eval", "vision", "--data", str(mvtec_root), "--detectors", "patchcore"]) == 0
    out = capsys.readouterr().out
    for title in ("### Image-Level AUC", "### Pixel-Level AUC", "### Pixel-Level AUPRO"):
        assert title in out
    assert "| | Avg | Ihc | Moon |" in out
    rows = [line for line in out.splitlines() if line.startswith("| patchcore |")]
    assert len(rows) == 3
    printed = [float(v) for v in rows[0].strip("| \n").split("|")[1:]]
    expected = [evaluate_detector(registry.detector_class("vision", "patchcore")(), load_mvtec(mvtec_root, c))
                ["image_auroc"] for c in ("ihc", "moon")]
    assert printed == pytest.approx([np.mean(expected), *expected], abs=5e-4)


def test_eval_names_what_it_expected(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "vision", "--data", str(tmp_path)]) == 2
    assert "expected <category>/train/good and test/" in capsys.readouterr().err
    assert main(["eval", "vision", "--data", str(tmp_path), "--detectors", "nope"]) == 2
    assert "unknown vision detector" in capsys.readouterr().err
