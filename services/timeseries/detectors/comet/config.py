"""COMET configuration (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from pydantic import Field, model_validator

from services.core.contract import DetectorConfig
from services.timeseries.detectors.comet.normalization import Normalization

__all__ = ["CometConfig"]


class CometConfig(DetectorConfig):
    """Hyper-parameters of :class:`~services.timeseries.detectors.comet.CometDetector`."""

    window: int = Field(
        128, ge=8, description="Window length W (every patch size divides it); series need at least W points."
    )
    normalization: Normalization = Field(
        "global",
        description="Input normalisation: 'global' (train mean/std), 'window' (each window centred on "
        "its own median: follows trends and level drift), 'difference' (first differences).",
    )
    patch_sizes: tuple[int, ...] = Field((4, 8, 16, 32), min_length=1, description="Patch scales p.")
    d_model: int = Field(64, ge=4, description="Embedding width d.")
    n_heads: int = Field(4, ge=1, description="Attention heads (must divide d_model).")
    codebook_size: int = Field(256, ge=2, description="Codewords K per scale.")
    memory_size: int = Field(1024, ge=1, description="Greedy k-center coreset size M per scale.")
    coreset_pool: int = Field(16384, ge=1, description="Embeddings sampled per scale for the coreset.")
    score_weight: float = Field(0.3, ge=0.0, le=1.0, description="Weight of the quantisation error.")
    train_steps: int = Field(200, ge=1, description="Optimiser steps of VQ-VAE training.")
    batch_size: int = Field(64, ge=1, description="Windows per training step.")
    lr: float = Field(2e-3, gt=0.0, description="Adam learning rate.")
    commitment: float = Field(0.25, ge=0.0, description="Commitment-loss weight (beta).")
    max_train_windows: int = Field(4096, ge=1, description="Training windows (stride adapts).")
    score_stride: int | None = Field(
        None, ge=1, description="Window stride when scoring; None = window // 2."
    )
    chunk_windows: int = Field(256, ge=1, description="Windows per forward pass when scoring.")
    online_adaptation: bool = Field(True, description="Adapt codebook + adapter at inference.")
    adapt_lr: float = Field(0.05, gt=0.0, description="SGD step size (gradient norm clipped to 1).")
    adapt_steps: int = Field(3, ge=1, description="SGD steps per adaptation.")
    adapt_quantile: float = Field(
        0.9, gt=0.0, le=1.0, description="Confident: error below this train quantile."
    )
    adapt_every: int = Field(64, ge=1, description="Stream points between two adaptations.")
    adapt_alignment: float = Field(
        1.0, ge=0.0, description="Weight of the pull to the pseudo-label codeword."
    )
    adapt_decay: float = Field(
        0.1, ge=0.0, le=1.0,
        description="After each adaptation, this share of the drift from the fitted codebook/adapter is undone.",
    )
    adapt_max_score: float | None = Field(
        3.0,
        description="A window holding a point score above this (training median + this many IQRs) is not "
        "adapted on, so anomalies are not absorbed; None adapts on every window.",
    )
    temperature: float = Field(0.5, gt=0.0, description="InfoNCE temperature (relative to training errors).")

    @model_validator(mode="after")
    def _check_shapes(self) -> CometConfig:
        bad = [p for p in self.patch_sizes if p < 1 or self.window % p]
        if bad:
            raise ValueError(f"patch_sizes {bad} must be positive divisors of window={self.window}")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide d_model={self.d_model}")
        return self
