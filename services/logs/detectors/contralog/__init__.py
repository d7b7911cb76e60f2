"""ContraLog: parser-free log anomaly detection by masked, contrastive message-embedding prediction."""

from services.logs.detectors.contralog.detector import ContraLogDetector

__all__ = ["ContraLogDetector"]
