"""COMET: Codebook-based Online-adaptive Multi-scale Embedding for time-series anomaly detection."""

from services.timeseries.detectors.comet.detector import CometDetector

__all__ = ["CometDetector"]
