"""Multi-AD on medical 2.5D slices (reuses the vision service's SE student, distillation and discriminator)."""

from services.medical.detectors.multi_ad.detector import MedicalMultiADConfig, MedicalMultiADDetector

__all__ = ["MedicalMultiADConfig", "MedicalMultiADDetector"]
