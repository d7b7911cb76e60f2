"""VJE configuration (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.vision.detectors.base import VisionConfig

__all__ = ["VJEConfig"]


class VJEConfig(VisionConfig):
    """Hyper-parameters of :class:`~services.vision.detectors.vje.VJEDetector` (one-class, image-level)."""

    image_size: int | None = Field(None, ge=32, le=1024, description="Square model resolution; None = input size.")
    smoothing_sigma: float = Field(0.0, ge=0.0, description="Unused by VJE's constant map; kept at 0.")
    layers: tuple[Literal[0, 1, 2, 3], ...] = Field(
        (2, 3), min_length=1, description="Frozen-trunk taps (strides 4, 8, 16, 32 = 0-3) pooled into features.",
    )
    embed_dim: int | None = Field(None, ge=4, description="Embedding width D; None = the trunk width (identity skip).")
    hidden: int = Field(256, ge=4, description="Hidden width of the projector and the inference network.")
    likelihood: Literal["student_t", "gaussian"] = Field("student_t", description="Conditional likelihood family.")
    representation: Literal["polar", "cartesian"] = Field(
        "polar", description="Likelihood on (radius, direction) or on h.",
    )
    sigma: Literal["global", "amortized"] = Field(
        "global", description="Posterior feature-wise scales: learned per feature, or predicted per input.",
    )
    nu: float = Field(4.0, gt=0.0, description="Student-t degrees of freedom.")
    kl_weight: float = Field(1.0, ge=0.0, description="Weight of KL(q || p) in the ELBO (1 = the true bound).")
    score_prior: Literal["fitted", "standard"] = Field(
        "fitted", description="Prior when scoring: refitted to the normal posteriors, or the training N(0, I).",
    )
    test_view: Literal["same", "flip"] = Field(
        "same", description="Second view when scoring: the image itself, or its mirror image.",
    )
    prior_shrinkage: Literal["ledoit_wolf", "rule"] = Field(
        "ledoit_wolf", description="Cov(posterior means): Ledoit-Wolf, or shrunk to its diagonal by max(0.1, D/N).",
    )
    views: int = Field(8, ge=2, description="Augmented views per training image (trunk features precomputed).")
    epochs: int = Field(1, ge=1, description="Passes over the training images (1: chosen on validation).")
    batch_size: int = Field(64, ge=2, description="Images per step (two views each).")
    lr: float = Field(1e-3, gt=0.0, description="AdamW learning rate (cosine decay).")
    weight_decay: float = Field(1e-4, ge=0.0, description="AdamW weight decay.")
    augment_strength: float = Field(1.0, ge=0.0, le=2.0, description="Scale of the view augmentations.")
    max_train_images: int = Field(20000, ge=2, description="Training images kept (seeded subsample).")
