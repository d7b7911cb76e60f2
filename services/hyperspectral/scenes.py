"""Synthetic scenes mixed from real spectra, with implanted sub-pixel targets and exact ground truth.

Each scene is deterministic from ``(kind, seed)``: spatially smooth abundance fields over several
background materials, per-material spectral variability, illumination variation, sub-pixel targets
(10–50 % fill, ~0.5 % of pixels, materials absent from the background), sensor noise at 30–40 dB SNR,
and AVIRIS's 20 water-vapour / noisy bands (the Indian Pines convention) carrying almost no signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.hyperspectral.spectra import library

__all__ = ["INDIAN_PINES_BAD_BANDS", "SCENE_KINDS", "Scene", "make_scene", "water_spectrum"]

INDIAN_PINES_BAD_BANDS: tuple[int, ...] = (*range(103, 108), *range(149, 163), 219)
"""0-based AVIRIS bands removed in the 200-band "corrected" Indian Pines cube (water absorption)."""

SCENE_KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "urban": {"background": ("concrete", "dark_mineral", "maple"), "targets": ("lichen",)},
    "vegetation": {"background": ("maple", "lichen", "dark_mineral"), "targets": ("concrete",)},
    "coastal": {"background": ("water", "dark_mineral", "maple"), "targets": ("concrete", "lichen")},
}
"""Background and target materials per scene type; targets never occur in the background."""


@dataclass(frozen=True)
class Scene:
    """A cube ``(H, W, B)`` float32 reflectance, its target map ``(H, W)`` uint8 and fill ``(H, W)``."""

    cube: np.ndarray
    gt: np.ndarray
    fill: np.ndarray
    centers_nm: np.ndarray
    bad_bands: np.ndarray
    kind: str
    seed: int
    snr_db: float


def water_spectrum(centers_nm: np.ndarray) -> np.ndarray:
    """Clear-water reflectance ``(B,)``: the one analytic (not measured) spectrum, used for coastal scenes.

    A 3–6 % green peak near 560 nm that vanishes past ~750 nm (strong NIR/SWIR absorption of water).
    """
    peak = 0.035 * np.exp(-(((centers_nm - 560.0) / 110.0) ** 2))
    tail = np.exp(-np.maximum(centers_nm - 650.0, 0.0) / 60.0)
    return 0.005 + (0.02 + peak) * tail


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field ``(H, W)`` with correlation length ``sigma`` px."""
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-12)


def _variability(rng: np.random.Generator, shape: tuple[int, int], centers: np.ndarray, amp: float) -> np.ndarray:
    """Smooth multiplicative spectral variability ``(H, W, B)`` around 1 (four wide wavelength bumps)."""
    basis = np.stack([np.exp(-(((centers - c) / w) ** 2))
                      for c, w in zip(rng.uniform(450, 2400, 4), rng.uniform(150, 400, 4), strict=True)])
    coeffs = np.stack([_smooth_field(rng, shape, rng.uniform(3, 8)) for _ in range(4)], axis=-1)
    brightness = 0.5 * _smooth_field(rng, shape, rng.uniform(2, 6))[..., None]
    return 1.0 + amp * (coeffs @ basis + brightness)


def _abundances(rng: np.random.Generator, kind: str, shape: tuple[int, int], k: int) -> np.ndarray:
    """Abundances ``(H, W, K)``, non-negative, summing to one: a softmax over smooth random fields."""
    logits = np.stack([_smooth_field(rng, shape, rng.uniform(4, 10)) for _ in range(k)], axis=-1) * 2.5
    if kind == "coastal":  # material 0 (water) fills one side of a wavy coastline
        h, w = shape
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        ramp = ((xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)) / (0.15 * max(h, w))
        logits[..., 0] += 3.0 * np.tanh(ramp + 0.6 * _smooth_field(rng, shape, 6))
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def _place_targets(rng: np.random.Generator, shape: tuple[int, int], fraction: float) -> list[list[tuple[int, int]]]:
    """Small non-touching blobs (1×1, 1×2, 2×1, 2×2 px) covering ≈ ``fraction`` of the pixels."""
    h, w = shape
    goal = max(1, round(h * w * fraction))
    taken = np.zeros(shape, dtype=bool)
    blobs: list[list[tuple[int, int]]] = []
    count, attempts = 0, 0
    while count < goal and attempts < 100 * goal:
        attempts += 1
        bh, bw = [(1, 1), (1, 2), (2, 1), (2, 2)][rng.integers(4)]
        if count + bh * bw > goal:
            bh, bw = 1, 1
        r, c = int(rng.integers(2, max(3, h - 2 - bh))), int(rng.integers(2, max(3, w - 2 - bw)))
        if taken[max(r - 2, 0): r + bh + 2, max(c - 2, 0): c + bw + 2].any():
            continue
        taken[r: r + bh, c: c + bw] = True
        blobs.append([(r + i, c + j) for i in range(bh) for j in range(bw)])
        count += bh * bw
    return blobs


def make_scene(kind: str = "urban", seed: int = 0, size: tuple[int, int] = (100, 100),
               target_fraction: float = 0.005, fill: tuple[float, float] = (0.1, 0.5),
               snr_db: tuple[float, float] = (30.0, 40.0), variability: float = 0.06) -> Scene:
    """A deterministic scene of type ``kind`` (see :data:`SCENE_KINDS`): cube ``(H, W, 220)``."""
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; known: {', '.join(SCENE_KINDS)}")
    rng = np.random.default_rng([seed, list(SCENE_KINDS).index(kind)])
    lib = library()
    centers = lib.centers_nm
    spectra = {**lib.spectra, "water": water_spectrum(centers)}
    materials = SCENE_KINDS[kind]
    shape = (int(size[0]), int(size[1]))
    abundance = _abundances(rng, kind, shape, len(materials["background"]))
    cube = np.zeros((*shape, centers.size))
    for k, name in enumerate(materials["background"]):
        cube += abundance[..., k: k + 1] * spectra[name] * _variability(rng, shape, centers, variability)
    fill_map = np.zeros(shape)
    target_var = _variability(rng, shape, centers, variability)
    for blob in _place_targets(rng, shape, target_fraction):
        spectrum = spectra[materials["targets"][rng.integers(len(materials["targets"]))]]
        for r, c in blob:
            f = rng.uniform(*fill)
            fill_map[r, c] = f
            cube[r, c] = (1 - f) * cube[r, c] + f * spectrum * target_var[r, c]
    illumination = np.clip(1.0 + 0.12 * _smooth_field(rng, shape, rng.uniform(5, 12)), 0.6, 1.4)
    cube *= illumination[..., None]
    snr = float(rng.uniform(*snr_db))
    sigma = cube.mean(axis=(0, 1)) / 10 ** (snr / 20)
    bad = np.zeros(centers.size, dtype=bool)
    bad[list(INDIAN_PINES_BAD_BANDS)] = True
    cube[..., bad] *= 0.02  # atmospheric transmittance of the water-vapour bands
    cube += sigma * rng.standard_normal(cube.shape)
    return Scene(cube=cube.astype(np.float32), gt=(fill_map > 0).astype(np.uint8), fill=fill_map.astype(np.float32),
                 centers_nm=centers.astype(np.float32), bad_bands=bad, kind=kind, seed=seed, snr_db=snr)
