"""Helpers of the medical unit tests: pydicom's test files (offline) and a small DICOM series writer."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest


def pydicom_file(name: str) -> Path:
    """A file of pydicom's installed test data; the test is skipped (with the reason) when absent."""
    from services.medical.data.common import MissingDataError
    from services.medical.data.ct import pydicom_test_file

    try:
        return Path(pydicom_test_file(name))
    except MissingDataError as error:
        pytest.skip(str(error))


def write_series(folder: Path, slices: np.ndarray, spacing_z: float = 2.5, shuffle: bool = True) -> list[Path]:
    """Write HU slices ``(K, rows, cols)`` as a CT series (CT_small's header) in ``folder``, files shuffled."""
    import pydicom
    from pydicom.uid import generate_uid

    template = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    series_uid = generate_uid()
    paths = []
    order = np.random.default_rng(0).permutation(len(slices)) if shuffle else np.arange(len(slices))
    for rank, k in enumerate(order):
        ds = copy.deepcopy(template)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = int(k) + 1
        position = [float(v) for v in template.ImagePositionPatient]
        ds.ImagePositionPatient = [position[0], position[1], position[2] + spacing_z * float(k)]
        ds.SliceLocation = ds.ImagePositionPatient[2]
        ds.Rows, ds.Columns = slices.shape[1:]
        stored = np.round((slices[k] - float(ds.RescaleIntercept)) / float(ds.RescaleSlope)).astype(np.int16)
        ds.PixelRepresentation = 1
        ds.PixelData = stored.tobytes()
        path = folder / f"slice_{rank:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
