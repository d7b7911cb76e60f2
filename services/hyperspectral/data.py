"""The hyperspectral service's data: synthetic scenes from real spectra, and readers for users' cubes.

A facade over :mod:`~services.hyperspectral.spectra` (real spectra, AVIRIS bands),
:mod:`~services.hyperspectral.scenes` (the generator), :mod:`~services.hyperspectral.loaders`
(ENVI / ``.mat`` / ``.npy``) and :mod:`~services.hyperspectral.codec` (uploaded bytes).
"""

from __future__ import annotations

from services.hyperspectral.codec import decode_upload
from services.hyperspectral.loaders import Cube, load_cube, read_envi, read_mat, read_npy
from services.hyperspectral.scenes import INDIAN_PINES_BAD_BANDS, SCENE_KINDS, Scene, make_scene
from services.hyperspectral.spectra import library

__all__ = ["INDIAN_PINES_BAD_BANDS", "SCENE_KINDS", "Cube", "Scene", "decode_upload", "library", "load_cube",
           "make_scene", "read_envi", "read_mat", "read_npy"]
