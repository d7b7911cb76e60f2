"""Real spectra, the scene generator and band preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from services.hyperspectral.preprocessing import BandPreprocessor, band_snr_db, fit_preprocessor
from services.hyperspectral.scenes import INDIAN_PINES_BAD_BANDS, SCENE_KINDS, make_scene
from services.hyperspectral.spectra import library


def test_library_has_the_shipped_real_spectra_on_aviris_bands() -> None:
    lib = library()
    assert lib.centers_nm.shape == (220,) and 395 < lib.centers_nm[0] < 405 and 2490 < lib.centers_nm[-1] < 2510
    assert set(lib.spectra) == {"concrete", "lichen", "maple", "dark_mineral"}
    for spectrum in lib.spectra.values():
        assert spectrum.shape == (220,) and np.isfinite(spectrum).all() and (spectrum > 0).all()
        assert spectrum.max() <= 1.0
    maple = lib.spectra["maple"]
    red, nir = np.argmin(abs(lib.centers_nm - 670)), np.argmin(abs(lib.centers_nm - 850))
    assert maple[nir] > 3 * maple[red]  # the red edge of a real leaf


@pytest.mark.parametrize("kind", list(SCENE_KINDS))
def test_scene_is_deterministic_with_exact_ground_truth(kind: str) -> None:
    a, b = make_scene(kind, seed=3, size=(40, 50)), make_scene(kind, seed=3, size=(40, 50))
    np.testing.assert_array_equal(a.cube, b.cube)
    np.testing.assert_array_equal(a.gt, b.gt)
    assert a.cube.shape == (40, 50, 220) and a.cube.dtype == np.float32
    assert not np.array_equal(a.cube, make_scene(kind, seed=4, size=(40, 50)).cube)
    assert a.gt.sum() == round(40 * 50 * 0.005)
    fills = a.fill[a.gt > 0]
    assert (fills >= 0.1).all() and (fills <= 0.5).all() and (a.fill[a.gt == 0] == 0).all()
    assert 30 <= a.snr_db <= 40


def test_target_fraction_is_respected() -> None:
    scene = make_scene("urban", seed=0, size=(100, 100), target_fraction=0.01)
    assert scene.gt.sum() == 100


def test_bad_band_removal_finds_the_water_bands() -> None:
    scene = make_scene("vegetation", seed=1, size=(48, 48))
    snr = band_snr_db(scene.cube)
    assert snr[scene.bad_bands].max() < 10 < snr[~scene.bad_bands].min()
    prep = fit_preprocessor(scene.cube)
    assert sorted(set(range(220)) - set(prep.keep.tolist())) == sorted(INDIAN_PINES_BAD_BANDS)


def test_preprocessor_subset_drop_normalise_and_state_round_trip() -> None:
    rng = np.random.default_rng(0)
    cube = rng.normal(5.0, 2.0, size=(10, 12, 6)).astype(np.float32)
    cube[..., 4] = 1.0  # constant band
    prep = fit_preprocessor(cube, bands=[0, 1, 2, 4, 5], drop_bands=[1], min_band_snr_db=None)
    assert prep.keep.tolist() == [0, 2, 5]
    out = prep.apply(cube)
    assert out.shape == (10, 12, 3)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(-1, 3).std(0), 1, atol=1e-4)
    again = BandPreprocessor.from_state(prep.state())
    np.testing.assert_array_equal(again.apply(cube), out)
    with pytest.raises(ValueError, match="every band"):
        fit_preprocessor(np.ones((4, 4, 3), dtype=np.float32))
