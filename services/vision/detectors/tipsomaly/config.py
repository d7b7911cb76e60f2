"""Tipsomaly configuration and its precondition error (no VLM checkpoint, no tokenizer file)."""

from __future__ import annotations

import os

import grpc
from pydantic import Field

from services.core.errors import PolyadError
from services.vision.detectors.base import VisionConfig

__all__ = ["CHECKPOINT_ENV", "NO_CHECKPOINT_MESSAGE", "PreconditionError", "TipsomalyConfig"]

CHECKPOINT_ENV = "POLYAD_VISION_TIPSOMALY_CHECKPOINT"
"""Environment variable read when the detector config names no checkpoint (resolved at use, not at build)."""

NO_CHECKPOINT_MESSAGE = (
    f"no VLM checkpoint configured: set checkpoint ({CHECKPOINT_ENV} or the detector config) to a local "
    "OpenCLIP ViT checkpoint (.safetensors or a torch.save state dict, with CLIP's bpe_simple_vocab_16e6.txt.gz "
    "next to it or the tokenizer setting); no weights ship with Polyad"
)


class PreconditionError(PolyadError):
    """The detector cannot run in this deployment yet (e.g. no VLM checkpoint): FAILED_PRECONDITION / 400."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    http_status = 400


class TipsomalyConfig(VisionConfig):
    """Options of :class:`~services.vision.detectors.tipsomaly.TipsomalyDetector` (zero-shot on the target: only the
    pixel-level context may be trained, on an auxiliary annotated set of other categories)."""

    checkpoint: str = Field("", description=f"Local OpenCLIP ViT checkpoint; empty = ${CHECKPOINT_ENV}.")
    tokenizer: str = Field("", description="CLIP BPE merges file; empty = bpe_simple_vocab_16e6.txt.gz (or .txt, "
                           "merges.txt) next to the checkpoint.")
    image_size: int | None = Field(224, ge=32, le=1024, description="Square model resolution; None = input size "
                                   "(positional embeddings are interpolated).")
    object_name: str = Field("object", min_length=1, description="Noun in the prompts ('a photo of a damaged {}').")
    n_ctx: int = Field(8, ge=1, le=32, description="Learnable context vectors per pixel-level prompt.")
    fusion_weight: float = Field(0.5, ge=0.0, description="Weight of the largest patch anomaly probability added "
                                 "to the global score (local evidence injected into the image score).")
    temperature: float = Field(0.01, gt=0.0, description="Softmax temperature of image-text similarities.")
    smoothing_sigma: float = Field(4.0, ge=0.0, description="Gaussian sigma (model pixels) of the map.")
    prompt_epochs: int = Field(5, ge=1, le=200, description="Epochs of pixel-prompt training on an auxiliary "
                               "annotated set (train_pixel_prompts; the published protocol's default).")
    prompt_lr: float = Field(1e-3, gt=0.0, description="Adam learning rate of the pixel-level context vectors.")

    def resolved_checkpoint(self) -> str:
        """The checkpoint path in use: the config's, else the environment's; raises when neither is set."""
        path = self.checkpoint or os.environ.get(CHECKPOINT_ENV, "")
        if not path:
            raise PreconditionError(NO_CHECKPOINT_MESSAGE, "checkpoint")
        return path
