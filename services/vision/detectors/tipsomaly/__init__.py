"""Tipsomaly: zero-shot anomaly detection with a vision-language model (OpenCLIP ViT family).

Decoupled prompts (fixed handwritten ones for the image score, learnable context for the maps) and local
evidence injected into the global score. No weights ship: set ``checkpoint`` to a local OpenCLIP ViT checkpoint;
without one the detector raises :class:`PreconditionError` (FAILED_PRECONDITION). See the vision README.
"""

from services.vision.detectors.tipsomaly.checkpoint import CheckpointError, load_openclip
from services.vision.detectors.tipsomaly.config import PreconditionError, TipsomalyConfig
from services.vision.detectors.tipsomaly.detector import TipsomalyDetector
from services.vision.detectors.tipsomaly.model import CLIPConfig, OpenCLIP
from services.vision.detectors.tipsomaly.tokenizer import ClipTokenizer

__all__ = ["CLIPConfig", "CheckpointError", "ClipTokenizer", "OpenCLIP", "PreconditionError", "TipsomalyConfig",
           "TipsomalyDetector", "load_openclip"]
