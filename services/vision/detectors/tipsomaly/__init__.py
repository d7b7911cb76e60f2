"""Tipsomaly building blocks (work in progress): OpenCLIP ViT model code, the local checkpoint loader, and the
decision head (decoupled prompts, local/global fusion).

Not a registered detector yet: the tokenizer, prompt training, the detector glue and the service status are
still to be written (see the vision README).
"""

from services.vision.detectors.tipsomaly.checkpoint import CheckpointError, load_openclip
from services.vision.detectors.tipsomaly.model import CLIPConfig, OpenCLIP

__all__ = ["CLIPConfig", "CheckpointError", "OpenCLIP", "load_openclip"]
