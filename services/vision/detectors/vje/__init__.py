"""VJE: Variational Joint Embedding (two-view, non-contrastive, Student-t polar likelihood), one-class scoring."""

from services.vision.detectors.vje.detector import VJEDetector

__all__ = ["VJEDetector"]
