"""Medical Multi-AD and PatchCore on tiny configurations: fit, score, explain, volumes, save / load, end to end."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from services.medical.data.oct import oct_set
from services.medical.detectors.multi_ad import MedicalMultiADDetector
from services.medical.detectors.patchcore import MedicalPatchCoreDetector

TINY = {"image_size": 64, "kd_steps": 20, "kd_crop": 64, "kd_batch": 4, "synthetic_per_image": 1,
        "disc_steps": 10, "disc_batch": 4, "student_width": 8, "student_blocks": 1, "volume_batch": 8}


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return oct_set(n_train=8, n_val=2, n_test=6, seed=0, h=64, w=80)


@pytest.fixture(scope="module")
def fitted(data) -> MedicalMultiADDetector:  # type: ignore[no-untyped-def]
    return MedicalMultiADDetector(TINY).fit(data.train)


def test_fit_score_explain_save_load(fitted: MedicalMultiADDetector, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert fitted.name == "multi_ad" and fitted.modality == "medical"
    assert {"kd_loss", "disc_loss"} <= set(fitted.training_summary_)
    scores, maps = fitted.score_and_explain(data.test)
    assert scores.shape == (6,) and maps.shape == (6, 64, 80) and scores.dtype == np.float32
    np.testing.assert_allclose(fitted.score(data.test[:, 1]), scores, rtol=1e-5)  # grayscale -> 3 channels
    fitted.save(tmp_path)
    again = MedicalMultiADDetector.load(tmp_path)
    np.testing.assert_array_equal(again.score(data.test), fitted.score(data.test))
    assert again.input_spec().shape == [-1, 3, 64, 64]


def test_volume_scoring_and_nifti_map(fitted: MedicalMultiADDetector) -> None:
    from services.medical.codec import decode_upload
    from services.medical.io.nifti import write_map_nifti
    from services.medical.pipeline import analyse_volume

    rng = np.random.default_rng(0)
    data = np.zeros((40, 48, 10), np.float32)
    data[4:36, 4:44, 2:9] = 300 + 20 * rng.normal(size=(32, 40, 7))
    affine = np.diag([-1.2, 1.0, 2.5, 1.0])
    volume = decode_upload(gzip.compress(nib.Nifti1Image(data, affine).to_bytes()), "t.nii.gz")
    analysis = analyse_volume(fitted, volume)
    result = analysis.result
    assert result.slice_scores.shape == (10,) and result.anomaly_map.shape == volume.shape
    assert not result.scored[0] and result.scored[5]  # empty end slices are not scored
    assert result.volume_score == pytest.approx(np.sort(result.slice_scores[result.scored])[-3:].mean())
    out = nib.Nifti1Image.from_bytes(gzip.decompress(write_map_nifti(volume, result.anomaly_map)))
    assert out.shape == data.shape
    np.testing.assert_allclose(out.affine, affine)


def test_patchcore_baseline_on_the_same_batch_type(data) -> None:  # type: ignore[no-untyped-def]
    detector = MedicalPatchCoreDetector(image_size=64, layers=[0], coreset_ratio=0.1).fit(data.train)
    scores, maps = detector.score_and_explain(data.test)
    assert scores.shape == (6,) and maps.shape == (6, 64, 80)


def test_atlas_baseline_scores_deviations(data) -> None:  # type: ignore[no-untyped-def]
    from services.medical.baselines import AtlasZScore

    atlas = AtlasZScore().fit(data.train, data.train_pos)
    scores, maps = atlas.score_and_maps(data.test, data.test_pos)
    assert scores.shape == (6,) and maps.shape == (6, 64, 80)
