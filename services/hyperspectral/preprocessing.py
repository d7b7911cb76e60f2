"""Band subsetting, bad-band removal and per-band normalisation of cubes ``(H, W, B)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BandPreprocessor", "band_snr_db", "fit_preprocessor"]


def band_snr_db(cube: np.ndarray) -> np.ndarray:
    """Per-band SNR estimate ``(B,)`` in dB: mean |signal| over a robust noise level.

    Noise is the median absolute deviation of horizontal neighbour differences (edges are rare,
    so the MAD ignores them), divided by √2 since a difference holds two noise draws.
    """
    cube = np.asarray(cube, dtype=np.float64)
    if cube.shape[1] < 2:
        diff = (cube[1:] - cube[:-1]).reshape(-1, cube.shape[-1])
    else:
        diff = (cube[:, 1:] - cube[:, :-1]).reshape(-1, cube.shape[-1])
    mad = np.median(np.abs(diff - np.median(diff, axis=0)), axis=0) * 1.4826 / np.sqrt(2)
    signal = np.abs(cube.reshape(-1, cube.shape[-1])).mean(axis=0)
    return 20 * np.log10((signal + 1e-12) / (mad + 1e-12))


@dataclass(frozen=True)
class BandPreprocessor:
    """Keeps bands ``keep`` ``(B',)`` of ``n_input_bands`` and z-scores them with ``mean``/``scale`` ``(B',)``."""

    n_input_bands: int
    keep: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def apply(self, cube: np.ndarray) -> np.ndarray:
        """``(H, W, B)`` → ``(H, W, B')`` float32, normalised with the fitted statistics."""
        kept = np.asarray(cube, dtype=np.float32)[..., self.keep]
        return ((kept - self.mean) / self.scale).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        """Named arrays for safetensors."""
        return {"n_input_bands": np.array([self.n_input_bands], dtype=np.int64), "keep": self.keep.astype(np.int64),
                "mean": self.mean.astype(np.float32), "scale": self.scale.astype(np.float32)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> BandPreprocessor:
        """Inverse of :meth:`state`."""
        return cls(int(state["n_input_bands"][0]), state["keep"].astype(np.int64),
                   state["mean"].astype(np.float32), state["scale"].astype(np.float32))


def fit_preprocessor(cube: np.ndarray, bands: Sequence[int] | None = None, drop_bands: Sequence[int] = (),
                     min_band_snr_db: float | None = 10.0) -> BandPreprocessor:
    """Choose the bands and fit per-band z-score statistics on a training cube ``(H, W, B)``.

    ``bands`` keeps only those (0-based) bands; ``drop_bands`` removes known bad bands; bands whose
    estimated SNR is below ``min_band_snr_db`` (water-vapour absorption) or that are constant are
    removed too (``None`` disables the SNR rule). At least one band always remains.
    """
    n_bands = cube.shape[-1]
    keep = np.ones(n_bands, dtype=bool)
    if bands is not None:
        keep[:] = False
        keep[np.asarray(list(bands), dtype=np.int64)] = True
    keep[np.asarray(list(drop_bands), dtype=np.int64)] = False
    flat = np.asarray(cube, dtype=np.float64).reshape(-1, n_bands)
    std = flat.std(axis=0)
    keep &= std > 1e-12 * max(float(np.abs(flat).max()), 1.0)
    if min_band_snr_db is not None:
        keep &= band_snr_db(cube) >= min_band_snr_db
    if not keep.any():
        raise ValueError("every band was removed (constant or below the SNR threshold); lower min_band_snr_db")
    index = np.flatnonzero(keep)
    mean, scale = flat[:, index].mean(axis=0), flat[:, index].std(axis=0)
    return BandPreprocessor(n_bands, index, mean.astype(np.float32), np.maximum(scale, 1e-6).astype(np.float32))
