"""Writers: DICOM-SEG of a DICOM series reads back with highdicom on the lesion; PNG overlays."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from services.medical.io.dicom import read_dicom
from services.medical.io.overlay import overlay_png, volume_overlays
from services.medical.io.seg import dicom_seg_bytes
from tests.unit.medical.helpers import write_series


def test_dicom_seg_of_a_series_overlaps_the_lesion(tmp_path: Path) -> None:
    import highdicom as hd

    slices = np.full((4, 48, 56), 50.0, np.float32)
    lesion = np.zeros(slices.shape, bool)
    lesion[1:3, 10:20, 30:42] = True  # off-centre, so any flip or transpose would miss it
    slices[lesion] = 160.0
    write_series(tmp_path, slices)
    volume = read_dicom(tmp_path)
    flagged = volume.data > 100.0  # the flagged region, in the volume's RAS frame
    seg = hd.seg.segread(io.BytesIO(dicom_seg_bytes(volume, flagged)))
    uids = [ds.SOPInstanceUID for ds in volume.datasets]
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1])[..., 0] > 0
    order = [int(ds.InstanceNumber) - 1 for ds in volume.datasets]  # the writer numbered slices by position
    truth = lesion[order]
    assert pixels.shape == truth.shape
    overlap = (pixels & truth).sum() / truth.sum()
    assert overlap == 1.0 and (pixels & ~truth).sum() == 0


def test_overlays_are_pngs_in_display_orientation() -> None:
    image = np.zeros((40, 50), np.float32)
    heat = np.zeros((40, 50), np.float32)
    heat[5:10, 30:40] = 1.0
    png = Image.open(io.BytesIO(overlay_png(image, heat, 0.5, 1.0, mask=heat > 0.5)))
    assert png.size == (50, 40)
    arr = np.asarray(png)
    assert arr[7, 35].sum() > 0 and arr[30, 5].sum() == 0
    pngs = volume_overlays(np.zeros((50, 40, 3)), np.zeros((50, 40, 3)), [0, 2], 0.0, 1.0)
    assert len(pngs) == 2 and Image.open(io.BytesIO(pngs[0])).size == (50, 40)
