"""Multi-AD: SE-CNN teacher–student knowledge distillation + anomaly discriminator, multi-scale fusion."""

from services.vision.detectors.multi_ad.detector import MultiADDetector

__all__ = ["MultiADDetector"]
