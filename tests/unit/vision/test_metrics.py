"""Image AUROC, pixel AUROC and AUPRO on hand-computable cases, a brute-force reference, and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage

from services.vision.metrics import aupro, image_auroc, pixel_auroc, pro_curve


def test_image_auroc_hand_cases() -> None:
    labels = np.array([0, 0, 1, 1])
    assert image_auroc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert image_auroc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert image_auroc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == 0.75  # 3 of 4 (pos, neg) pairs ordered
    assert image_auroc(labels, np.array([0.5, 0.1, 0.5, 0.9])) == 0.875  # one tie counts one half
    assert image_auroc(labels, np.ones(4)) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        image_auroc(np.zeros(3), np.arange(3.0))


def test_pixel_auroc_perfect_inverted_and_hand_case() -> None:
    masks = np.zeros((2, 4, 4), bool)
    masks[0, 1:3, 1:3] = True
    maps = masks.astype(float)
    assert pixel_auroc(masks, maps) == 1.0
    assert pixel_auroc(masks, -maps) == 0.0
    maps = maps.copy()
    maps[1, 0, 0] = 2.0  # one of 28 normal pixels outranks all 4 anomalous ones
    assert pixel_auroc(masks, maps) == pytest.approx(27 / 28)


def test_aupro_hand_case_interpolation_and_normalisation() -> None:
    # One row: region A (2 px) scores 0.9, 0.9; region B (2 px) 0.9, 0.2; six normal pixels, one between A and B.
    masks = np.array([[[1, 1, 0, 1, 1, 0, 0, 0, 0, 0]]], bool)
    maps = np.array([[[0.9, 0.9, 0.8, 0.9, 0.2, 0.5, 0.3, 0.2, 0.05, 0.01]]])
    fpr, pro = pro_curve(masks, maps)
    np.testing.assert_allclose(fpr, [0, 0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1])
    np.testing.assert_allclose(pro, [0, 0.75, 0.75, 0.75, 0.75, 1, 1, 1])
    # PRO is 0.75 until FPR 1/2, then rises linearly to 1 at FPR 2/3 (the tie at 0.2 moves both together).
    assert aupro(masks, maps, fpr_limit=0.3) == pytest.approx(0.75)
    assert aupro(masks, maps, fpr_limit=0.6) == pytest.approx((0.5 * 0.75 + 0.1 * (0.75 + 0.9) / 2) / 0.6)
    assert aupro(masks, maps, fpr_limit=1.0) == pytest.approx(0.5 * 0.75 + (1 / 6) * 1.75 / 2 + 1 / 3)


def test_aupro_averages_regions_not_pixels_with_8_connectivity() -> None:
    masks = np.zeros((1, 6, 6), bool)
    masks[0, 0, 0] = masks[0, 1, 1] = masks[0, 2, 2] = True  # diagonal: one region of 3 px (8-connectivity)
    masks[0, 5, 5] = True  # a second region of 1 px
    maps = np.where(masks, -1.0, 0.0)  # the large region scores below every normal pixel...
    maps[0, 5, 5] = 1.0  # ...only the small one is found: PRO 1/2 up to FPR 1, although pixel recall is 1/4
    fpr, pro = pro_curve(masks, maps)
    assert pro[1] == 0.5 and fpr[1] == 0.0
    assert aupro(masks, maps) == pytest.approx(0.5)


def test_aupro_perfect_and_inverted() -> None:
    masks = np.zeros((3, 16, 16), bool)
    masks[0, 2:6, 2:6] = masks[1, 8:, 8:] = True
    assert aupro(masks, masks.astype(float)) == 1.0
    assert aupro(masks, -masks.astype(float)) == 0.0
    with pytest.raises(ValueError, match="anomalous and normal"):
        aupro(np.zeros((1, 4, 4), bool), np.zeros((1, 4, 4)))


def _brute_aupro(masks: np.ndarray, maps: np.ndarray, limit: float) -> float:
    regions = []
    for m, a in zip(masks, maps, strict=True):
        comp, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions += [a[comp == k] for k in range(1, n + 1)]
    normal = maps[~masks]
    xs, ys = [0.0], [0.0]
    for t in np.unique(maps)[::-1]:
        xs.append(float((normal >= t).mean()))
        ys.append(float(np.mean([(r >= t).mean() for r in regions])))
    grid = np.linspace(0, limit, 20001)
    return float(np.trapezoid(np.interp(grid, xs, ys), grid) / limit)


def test_aupro_matches_brute_force_reference() -> None:
    rng = np.random.default_rng(0)
    masks = rng.random((4, 12, 12)) > 0.85
    masks[3] = False
    maps = np.round(rng.random(masks.shape) + 0.6 * masks, 2)  # rounding creates ties
    for limit in (0.05, 0.3, 1.0):
        assert aupro(masks, maps, fpr_limit=limit) == pytest.approx(_brute_aupro(masks, maps, limit), abs=1e-4)


def test_hundred_maps_evaluate_in_seconds() -> None:
    rng = np.random.default_rng(1)
    masks = np.zeros((100, 256, 256), bool)
    masks[::2, 100:140, 60:90] = True
    maps = (rng.random(masks.shape) + 0.7 * masks).astype(np.float32)
    start = time.perf_counter()
    exact = aupro(masks, maps)
    swept = aupro(masks, maps, num_thresholds=2000)
    pixel = pixel_auroc(masks, maps)
    assert time.perf_counter() - start < 12.0
    assert 0.5 < exact < 1.0 and swept == pytest.approx(exact, abs=5e-3) and 0.9 < pixel < 1.0
