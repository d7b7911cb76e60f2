"""Configuration of the DMS2F-HAD detector (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from services.core.contract import DetectorConfig

__all__ = ["DMS2FHADConfig"]


class DMS2FHADConfig(DetectorConfig):
    """Hyper-parameters of :class:`~services.hyperspectral.detectors.dms2f_had.DMS2FHADDetector`."""

    # preprocessing
    bands: list[int] | None = Field(None, description="Keep only these 0-based input bands (None: all).")
    drop_bands: list[int] = Field(default_factory=list, description="0-based input bands known to be bad.")
    min_band_snr_db: float | None = Field(
        10.0, description="Drop bands whose estimated SNR (dB) is below this (water vapour); None keeps them."
    )
    # architecture
    window: int = Field(5, ge=3, le=15, description="Side of the local window of the spatial branch (odd).")
    d_model: int = Field(32, ge=4, le=512, description="Token width of both Mamba branches.")
    d_state: int = Field(8, ge=1, le=64, description="State size N of each selective SSM.")
    d_conv: int = Field(4, ge=2, le=8, description="Depthwise causal convolution width inside Mamba.")
    expand: int = Field(2, ge=1, le=4, description="Inner expansion factor E of Mamba.")
    depth: int = Field(1, ge=1, le=8, description="Mamba layers per branch.")
    group_size: int = Field(20, ge=1, description="Bands per spectral token (band group).")
    group_stride: int = Field(10, ge=1, description="Step between band groups (overlap when < group_size).")
    latent: int = Field(8, ge=1, description="Bottleneck width of the spectral branch.")
    fusion: Literal["gate", "average", "spatial", "spectral"] = Field(
        "gate", description="gate: learned input-dependent gate; average: ½·(spatial+spectral); "
                            "spatial / spectral: one branch only (ablations)."
    )
    decoder_hidden: int = Field(64, ge=4, description="Hidden width of the decoder MLP.")
    backend: Literal["auto", "mambapy", "mamba_ssm"] = Field(
        "auto", description="Selective-scan kernel: mamba_ssm on CUDA when it imports, else mambapy."
    )
    # training (unsupervised: reconstruction only, never labels)
    epochs: int = Field(12, ge=1, description="Most training epochs.")
    train_pixels: int = Field(2048, ge=16, description="Pixels sampled per epoch for training.")
    batch_size: int = Field(256, ge=2, description="Pixels per Adam step.")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate.")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay.")
    val_fraction: float = Field(0.1, ge=0, lt=0.9, description="Pixels held out for early stopping (0: none).")
    patience: int = Field(3, ge=1, description="Epochs without held-out improvement before stopping.")
    threads: int | None = Field(None, ge=1, description="torch intra-op threads while fitting/scoring (None: as is).")
    # scoring
    error_metric: Literal["mse", "mahalanobis"] = Field(
        "mahalanobis", description="mse: mean squared reconstruction error (the paper); mahalanobis: the residual "
                                   "whitened by the covariance of the training scene's residuals."
    )
    metric_pixels: int = Field(8192, ge=2, description="Pixels whose residuals estimate the residual covariance.")
    metric_shrinkage: float = Field(0.01, ge=0, le=1, description="Shrinkage of the residual covariance to a scaled "
                                                                  "identity.")
    # serving
    score_batch: int = Field(2048, ge=1, description="Pixels per forward pass when scoring.")
    max_pixels: int = Field(4_000_000, ge=1, description="Largest cube accepted, in pixels (H·W).")

    @field_validator("window")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("window must be odd so that the pixel sits at its centre")
        return value
