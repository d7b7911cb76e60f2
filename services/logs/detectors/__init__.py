"""Log anomaly detectors (plugins registered under ``logs.<name>``)."""
