"""Readers for users' cubes: ENVI (``.hdr`` + data), MATLAB ``.mat`` (v5 and v7.3), NumPy ``.npy``.

Each returns a :class:`Cube` ``(H, W, B)`` float32 with the ground-truth map when the file holds one
(``map``/``gt`` variables of the ABU / San Diego / HYDICE / Pavia ``.mat`` distributions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CUBE_KEYS", "MAP_KEYS", "Cube", "load_cube", "read_envi", "read_mat", "read_npy"]

CUBE_KEYS = ("data", "hsi", "cube", "X", "img", "image")
MAP_KEYS = ("map", "gt", "groundtruth", "mask", "label")


@dataclass(frozen=True)
class Cube:
    """A cube ``(H, W, B)`` float32, optional target map ``(H, W)`` uint8 and band centres ``(B,)``."""

    data: np.ndarray
    gt: np.ndarray | None = None
    wavelengths: np.ndarray | None = None


def _as_cube(array: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"{what} has shape {list(array.shape)}; expected a cube (H, W, bands)")
    if not (np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)):
        raise ValueError(f"{what} has dtype {array.dtype}; expected real numbers")
    return np.ascontiguousarray(array, dtype=np.float32)


def _as_map(array: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if array is None:
        return None
    gt = np.asarray(array)
    if gt.shape != shape[:2] and gt.T.shape == shape[:2]:
        gt = gt.T
    if gt.shape != shape[:2]:
        raise ValueError(f"the ground-truth map has shape {list(gt.shape)}; expected {list(shape[:2])}")
    return (gt > 0).astype(np.uint8)


def read_npy(path: str | Path) -> Cube:
    """A ``.npy`` cube ``(H, W, B)`` (``allow_pickle`` is off)."""
    return Cube(_as_cube(np.load(path, allow_pickle=False), str(path)))


def _pick(variables: dict[str, np.ndarray], name: str | None, keys: tuple[str, ...], what: str) -> np.ndarray | None:
    if name is not None:
        if name not in variables:
            raise ValueError(f"variable {name!r} not found; the file holds {sorted(variables)}")
        return variables[name]
    lower = {k.lower(): k for k in variables}
    for key in keys:
        if key.lower() in lower:
            return variables[lower[key.lower()]]
    if what == "cube":
        three = [k for k, v in variables.items() if np.ndim(v) == 3]
        if len(three) == 1:
            return variables[three[0]]
        raise ValueError(f"no cube variable found (tried {', '.join(keys)}); name it: the file holds "
                         f"{sorted(variables)}")
    return None


def read_mat(path: str | Path, variable: str | None = None, map_variable: str | None = None) -> Cube:
    """A MATLAB cube: variable ``variable`` or the first of :data:`CUBE_KEYS`; map from :data:`MAP_KEYS`.

    v5 files are read with ``scipy.io.loadmat``; v7.3 (HDF5) with ``h5py`` when installed (MATLAB stores
    arrays column-major, so HDF5 datasets are transposed back to MATLAB's axis order).
    """
    from scipy.io import loadmat

    try:
        variables = {k: v for k, v in loadmat(str(path)).items() if not k.startswith("__")}
    except (NotImplementedError, ValueError) as error:  # MATLAB v7.3 is HDF5
        try:
            import h5py
        except ImportError:
            raise ValueError(f"{Path(path).name} is not a MATLAB v5 file ({error}); v7.3 (HDF5) files need "
                             "`pip install h5py`") from error
        if not h5py.is_hdf5(str(path)):
            raise ValueError(f"{Path(path).name} is neither a MATLAB v5 nor a v7.3 (HDF5) file") from error
        with h5py.File(str(path), "r") as handle:
            variables = {k: np.asarray(v).T for k, v in handle.items() if isinstance(v, h5py.Dataset)}
    data = _as_cube(_pick(variables, variable, CUBE_KEYS, "cube"), f"{Path(path).name}")
    return Cube(data, _as_map(_pick(variables, map_variable, MAP_KEYS, "map"), data.shape))


def read_envi(header: str | Path, image: str | Path | None = None) -> Cube:
    """An ENVI cube from its ``.hdr`` (and data file, found beside it when not given), via ``spectral.envi``."""
    from spectral.io import envi

    img = envi.open(str(header), None if image is None else str(image))
    data = _as_cube(img.load(), Path(header).name)
    centers = img.metadata.get("wavelength")
    wavelengths = np.asarray([float(v) for v in centers], dtype=np.float32) if centers else None
    return Cube(data, None, wavelengths)


def load_cube(path: str | Path, variable: str | None = None, map_variable: str | None = None) -> Cube:
    """Read a cube by extension: ``.hdr`` (ENVI), ``.mat``, ``.npy``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".hdr":
        return read_envi(path)
    if suffix == ".mat":
        return read_mat(path, variable, map_variable)
    if suffix == ".npy":
        return read_npy(path)
    raise ValueError(f"unknown cube format {suffix!r}; expected .hdr (ENVI), .mat or .npy")
