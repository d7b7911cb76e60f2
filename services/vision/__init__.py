"""Vision service: industrial inspection (pretrained backbone, data sets, metrics, detectors)."""
