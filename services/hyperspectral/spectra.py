"""Real reflectance spectra shipped in ``spectral``'s test data, resampled to AVIRIS band centres.

The ``spectral`` package (PyPI sdist 0.25) installs ``spectral/tests/data`` with three ECOSTRESS
spectra (construction concrete, lichen, *Acer rubrum* leaves), one RELAB spectrum (a dark
mineral powder, ``bkr1mm074ws``) and the 220 AVIRIS band centres / FWHM of the Indian Pines
cube (``92AV3C.spc``). Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

__all__ = ["AVIRIS_WATER_BANDS_NM", "SpectralLibrary", "aviris_bands", "library", "spectral_test_data"]

AVIRIS_WATER_BANDS_NM: tuple[tuple[float, float], ...] = ((1340.0, 1450.0), (1790.0, 1960.0), (2450.0, 2600.0))
"""Atmospheric water-vapour absorption windows (nm): AVIRIS bands inside them carry little signal."""

_ECOSTRESS = {"concrete": "a.spectrum.txt", "lichen": "b.spectrum.txt", "maple": "c.spectrum.txt"}
_RELAB = {"dark_mineral": "relab/data/mem/mm/bkr1mm074ws.txt"}


@dataclass(frozen=True)
class SpectralLibrary:
    """Reflectance spectra ``(B,)`` in [0, 1] on common band centres ``(B,)`` (nm)."""

    centers_nm: np.ndarray
    fwhm_nm: np.ndarray
    spectra: dict[str, np.ndarray]
    sources: dict[str, str]


def spectral_test_data() -> Path:
    """The folder of ``spectral``'s shipped test data; a clear error when the install lacks it."""
    try:
        import spectral
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the hyperspectral service needs `pip install polyad[hyperspectral]` (spectral)") from error
    folder = Path(spectral.__file__).parent / "tests" / "data"
    if not (folder / "92AV3C.spc").exists():
        raise FileNotFoundError(f"{folder} lacks spectral's test data; reinstall spectral==0.25 from its sdist")
    return folder


def _two_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Numeric (x, y) rows of a text spectrum; header lines are skipped."""
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) < 2:
            continue
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            continue
    table = np.asarray(rows, dtype=np.float64)
    return table[:, 0], table[:, 1]


def aviris_bands() -> tuple[np.ndarray, np.ndarray]:
    """AVIRIS band centres and FWHM (nm), 220 bands from 400 to 2500 nm (``92AV3C.spc``)."""
    centers, fwhm = _two_columns(spectral_test_data() / "92AV3C.spc")
    return centers, fwhm


def _resample(wl_um: np.ndarray, values: np.ndarray, centers: np.ndarray, fwhm: np.ndarray) -> np.ndarray:
    """Resample a lab spectrum (µm) onto band centres (nm) with ``spectral.BandResampler``."""
    from spectral import BandResampler

    order = np.argsort(wl_um)
    wl_nm, values = wl_um[order] * 1000.0, values[order]
    keep = (wl_nm >= centers[0] - 50) & (wl_nm <= centers[-1] + 50)
    wl_nm, values = wl_nm[keep], values[keep]
    out = BandResampler(wl_nm, centers, None, fwhm)(values)
    missing = ~np.isfinite(out)
    if missing.any():  # bands with no overlapping lab sample: linear interpolation
        out[missing] = np.interp(centers[missing], wl_nm, values)
    return out


@cache
def library() -> SpectralLibrary:
    """The four real spectra as reflectance in [0, 1] on the 220 AVIRIS bands."""
    root = spectral_test_data()
    centers, fwhm = aviris_bands()
    spectra: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    for name, file in _ECOSTRESS.items():
        wl, refl = _two_columns(root / "ecostress" / file)
        spectra[name] = np.clip(_resample(wl, refl / 100.0, centers, fwhm), 1e-3, 1.0)
        sources[name] = f"ECOSTRESS {file}"
    for name, file in _RELAB.items():
        wl, refl = _two_columns(root / file)
        spectra[name] = np.clip(_resample(wl, refl, centers, fwhm), 1e-3, 1.0)
        sources[name] = f"RELAB {Path(file).name}"
    return SpectralLibrary(centers, fwhm, spectra, sources)
