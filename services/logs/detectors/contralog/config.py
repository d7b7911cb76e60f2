"""ContraLog configuration (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.core.contract import DetectorConfig

__all__ = ["ContraLogConfig"]


class ContraLogConfig(DetectorConfig):
    """Hyper-parameters of :class:`~services.logs.detectors.contralog.ContraLogDetector`."""

    message_encoder: Literal["bpe", "minilm"] = Field(
        "bpe", description="bpe: own byte-level BPE + trained encoder; minilm: frozen all-MiniLM-L6-v2 + projection."
    )
    vocab_size: int = Field(1000, ge=64, description="BPE vocabulary size (trained on the training text).")
    max_tokens: int = Field(48, ge=4, description="Tokens kept per message (the rest is cut).")
    d_model: int = Field(64, ge=8, description="Width of message embeddings and of the sequence encoder.")
    message_layers: int = Field(0, ge=0, description="Transformer layers in the BPE message encoder (0 = pooling).")
    n_layers: int = Field(2, ge=1, description="Transformer layers of the sequence encoder.")
    n_heads: int = Field(4, ge=1, description="Attention heads (must divide d_model).")
    window: int = Field(16, ge=2, description="Messages each sequence-encoder layer attends to (band width).")
    context: Literal["next", "masked"] = Field(
        "next", description="next: each message is predicted from the ones before it (streams line by line); "
        "masked: from the messages before and after it (a backward encoder too; whole sessions only, no streams)."
    )
    train_steps: int = Field(600, ge=1, description="Optimiser steps.")
    batch_size: int = Field(32, ge=1, description="Session crops per step.")
    crop_len: int = Field(64, ge=2, description="Most messages per training crop.")
    lr: float = Field(2e-3, gt=0.0, description="AdamW learning rate.")
    temperature: float = Field(0.1, gt=0.0, description="InfoNCE temperature.")
    mask_rate: float = Field(0.15, ge=0.0, lt=1.0, description="Share of context messages replaced by [MASK].")
    distance_weight: float = Field(1.0, ge=0.0, description="Weight of the embedding-distance loss beside InfoNCE.")
    uniformity_weight: float = Field(
        0.1, ge=0.0, description="Weight of the uniformity loss that spreads the batch's message embeddings."
    )
    memory_size: int = Field(2048, ge=1, description="Normal message embeddings kept for the message-only score.")
    stats_fraction: float = Field(
        0.1, ge=0.0, lt=0.5, description="Trailing training sessions held out for score scaling."
    )
    score_mode: Literal["combined", "sequence", "message"] = Field(
        "combined", description="Line score: sequence (predicted vs actual), message (no context), or the larger."
    )
    sequence_score: Literal["contrastive", "cosine"] = Field(
        "contrastive", description="contrastive: -log InfoNCE probability vs the normal memory; cosine: 1 - cos."
    )
    message_weight: float = Field(1.0, ge=0.0, description="Weight of the message-only score in 'combined'.")
    second_weight: float = Field(
        0.0, ge=0.0, description="Session score adds this share of its second-highest line score (when > 0). "
        "0 by default: on the validation seeds of bench/logs_select.py 0.25 did not help (0.826 vs 0.830 AUPRC)."
    )
    repeat_weight: float = Field(
        0.5, ge=0.0, description="Weight of the repetition score (a message's run length against its normal "
        "longest run); the session score is the larger of it and the line-based score. 0 = off (0.5 kept on "
        "validation seeds: 0.830 vs 0.795 AUPRC)."
    )
    fields: bool = Field(
        True, description="Model variable fields: words of open slots reach the encoder as their kind (a new "
        "package or host name is not a new message), and each line gets a field score (novelty of value, kind "
        "and magnitude per slot) beside the sequence and message scores."
    )
    open_slot: float = Field(
        0.1, gt=0.0, lt=1.0, description="A slot is open (variable) when a new value is expected there with at "
        "least this probability (Witten-Bell over training lines)."
    )
    targets: Literal["skeleton", "coarse"] = Field(
        "skeleton", description="Prediction targets that count as the same message: skeleton (the field model's "
        "variable words as '*'; needs fields) or coarse (digits zeroed, zero runs cut to one)."
    )
    field_weight: float = Field(1.0, ge=0.0, description="Weight of the field score in 'combined' (0 = off).")
    strip_numeric_prefix: bool = Field(
        True, description="Drop leading whitespace-separated fields that contain a digit (timestamps, ids)."
    )
    digits: Literal["class", "zero", "keep"] = Field(
        "class", description="zero: digits (and 0x hex digits) become 0 before encoding (lengths kept); class: "
        "zero, but numbers whose value is zero become 'z' (a numeric class of their own); keep: raw."
    )
    chunk_lines: int = Field(256, ge=8, description="Positions per sequence-encoder pass when scoring.")
    encode_batch: int = Field(2048, ge=1, description="Messages per message-encoder pass.")
    session_pattern: str = Field(
        "", description="Regex naming a line's session (first group); used by the service for raw files."
    )
    window_lines: int = Field(50, ge=1, description="Lines per session for lines without a session key.")

    @model_validator(mode="after")
    def _check(self) -> ContraLogConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide d_model={self.d_model}")
        if self.session_pattern:
            import re

            try:
                re.compile(self.session_pattern)
            except re.error as error:
                raise ValueError(f"session_pattern is not a valid regex: {error}") from None
        return self
