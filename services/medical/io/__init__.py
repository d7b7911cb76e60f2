"""Medical file formats: DICOM (files, multi-frame, series), NIfTI, PNG/JPEG in; NIfTI maps, PNG overlays,
DICOM-SEG out. Every reader returns a :class:`services.medical.volume.MedicalVolume`."""
