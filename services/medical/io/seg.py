"""DICOM-SEG out: the flagged region of a DICOM input as a binary Segmentation (``highdicom``) PACS viewers open."""

from __future__ import annotations

import io

import numpy as np

from services.medical.volume import MedicalVolume

__all__ = ["dicom_seg_bytes"]

_INSTALL_HINT = "pip install highdicom  (or: pip install 'polyad[medical]')"


def dicom_seg_bytes(volume: MedicalVolume, flagged: np.ndarray, label: str = "Anomaly",
                    algorithm: str = "Polyad Multi-AD", version: str = "1") -> bytes:
    """A binary DICOM-SEG of ``flagged (X, Y, Z)`` bool (aligned with ``volume.data``) referencing the source series.

    Raises ``ValueError`` when the volume did not come from DICOM (a SEG must reference its source images).
    """
    try:
        import highdicom as hd
        from pydicom.sr.codedict import codes
    except ImportError as error:
        raise ImportError(f"DICOM-SEG output needs highdicom: {_INSTALL_HINT}") from error
    if volume.format != "dicom" or not volume.datasets:
        raise ValueError("a DICOM-SEG needs DICOM input; this volume came from " + (volume.format or "a tensor"))
    source = volume.to_source(np.asarray(flagged, bool))  # (cols, rows, slices)
    mask = np.ascontiguousarray(np.transpose(source, (2, 1, 0))).astype(np.uint8)  # (frames, rows, cols)
    first = volume.datasets[0]
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Lesion,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name=algorithm, version=version, family=codes.DCM.ArtificialIntelligence),
    )
    seg = hd.seg.Segmentation(
        source_images=volume.datasets,
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description],
        series_instance_uid=hd.UID(),
        series_number=int(first.get("SeriesNumber", 0) or 0) + 1000,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="Polyad",
        manufacturer_model_name=algorithm,
        software_versions=version,
        device_serial_number="0",
        omit_empty_frames=False,
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    return buffer.getvalue()
