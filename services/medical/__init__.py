"""The medical image service: Multi-AD on brain MRI, liver CT and retinal OCT; DICOM / NIfTI / PNG in and out."""
