"""Multi-AD for medical images: vision's Multi-AD (SE-CNN student distilled from the frozen EfficientNet-Lite0
teacher at several scales, a discriminator trained on train-time synthetic anomalies, fused multi-scale maps)
with the medical batch type (2.5D stacks, grayscale -> 3 channels) and medical train-time synthesis
(:mod:`services.medical.synthesis`, which shares no generator with the evaluation lesions).
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from services.medical.detectors.base import MedicalFields, MedicalSlices
from services.vision.detectors.multi_ad.config import MultiADConfig
from services.vision.detectors.multi_ad.detector import MultiADDetector

__all__ = ["MedicalMultiADConfig", "MedicalMultiADDetector"]


class MedicalMultiADConfig(MedicalFields, MultiADConfig):
    """Multi-AD hyper-parameters with medical defaults (fixed on the validation split, see the README)."""

    image_size: int | None = Field(224, ge=32, le=1024, description="Square model resolution; None = input size.")
    kd_steps: int = Field(600, ge=1, description="Distillation steps (student on normal slices).")
    disc_steps: int = Field(300, ge=1, description="Discriminator steps on synthesised anomalies.")
    smoothing_sigma: float = Field(3.0, ge=0.0, description="Gaussian sigma (model pixels) of the map.")
    # the medical settings were fixed on medical validation data with the top 1 %; vision's later choice of
    # 10 % (bench/vision_select.py, textures) is not carried over untested
    topk_ratio: float = Field(0.01, gt=0.0, le=1.0, description="Image score = mean of this top fraction.")


class MedicalMultiADDetector(MedicalSlices, MultiADDetector):
    """Multi-AD over 2.5D medical slices ``(n, 3, H, W)`` in [0, 1]; see :mod:`services.medical.detectors.base`."""

    name = "multi_ad"
    modality = "medical"
    Config = MedicalMultiADConfig
    config: MedicalMultiADConfig

    def _synthesise(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Copies of the training stacks with medical train-time anomalies: ``(M, 3, S, S)``, masks ``(M, S, S)``."""
        from services.medical.synthesis import synthesize_slice_anomaly

        stacks = self._unpreprocess(x)
        rng = np.random.default_rng(self.config.seed)
        pairs = [synthesize_slice_anomaly(s, rng) for _ in range(self.config.synthetic_per_image) for s in stacks]
        masks = torch.from_numpy(np.stack([m for _, m in pairs])).float()
        images = np.stack([im for im, _ in pairs])
        return self._preprocess(images), masks
