"""Tipsomaly detector glue: zero-shot anomaly detection with a local OpenCLIP ViT checkpoint.

1. ``fit`` is zero-shot: it reads no image content (the contract's normal images only fix the model size).
   It loads the VLM and the tokenizer, encodes the fixed handwritten image-level prompt ensembles and builds
   the pixel-level prompts (learnable context vectors, seeded) -- the state that is saved.
   :meth:`TipsomalyDetector.train_pixel_prompts` then learns that context on an auxiliary annotated set of
   other categories (:mod:`.prompt_training`), as the published zero-shot protocol does.
2. ``score`` / ``explain``: global and patch embeddings of the image tower against the two decoupled prompt
   pairs, fused (local evidence injected into the global score) by :func:`head.fuse`; maps are smoothed and
   returned at the input resolution.

The VLM weights are never copied into the model store: the saved version names the checkpoint (config or
``$POLYAD_VISION_TIPSOMALY_CHECKPOINT``), loaded lazily on first use. Without one every entry point raises
:class:`PreconditionError` (gRPC FAILED_PRECONDITION) -- there is no fallback score.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.vision.detectors.base import VisionDetector, gaussian_blur
from services.vision.detectors.tipsomaly.checkpoint import CheckpointError, load_openclip
from services.vision.detectors.tipsomaly.config import (
    CHECKPOINT_ENV,
    NO_CHECKPOINT_MESSAGE,
    PreconditionError,
    TipsomalyConfig,
)
from services.vision.detectors.tipsomaly.head import DecoupledPrompts, fuse
from services.vision.detectors.tipsomaly.model import OpenCLIP
from services.vision.detectors.tipsomaly.prompt_training import PromptTrainingResult, train_pixel_context
from services.vision.detectors.tipsomaly.tokenizer import ClipTokenizer, TokenizerError, find_tokenizer_file

__all__ = ["TipsomalyDetector"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
NORMAL_STATES = ("{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect")
ANOMALOUS_STATES = ("damaged {}", "broken {}", "defective {}", "{} with flaw", "{} with defect", "{} with damage")
TEMPLATES = ("a photo of a {}.", "a cropped photo of the {}.", "a close-up photo of a {}.",
             "a bright photo of a {}.", "a photo of the {} for visual inspection.")
PIXEL_STATES = ("{}", "damaged {}")
"""Pixel-level templates: ``n_ctx`` placeholder words (replaced by learnable vectors), then the state."""
STATE_KEYS = ("prompts.image_text", "prompts.template_tokens", "prompts.context")


def prompt_texts(object_name: str, n_ctx: int) -> tuple[list[list[str]], list[str]]:
    """Image-level ensembles ``[normal K, anomalous K]`` and the two pixel-level templates."""
    fixed = [[t.format(s.format(object_name)) for s in states for t in TEMPLATES]
             for states in (NORMAL_STATES, ANOMALOUS_STATES)]
    pixel = [" ".join(["x"] * n_ctx + [s.format(object_name)]) + "." for s in PIXEL_STATES]
    return fixed, pixel


class TipsomalyDetector(VisionDetector):
    """Tipsomaly: decoupled prompts (fixed image-level, learnable pixel-level) and local-to-global fusion."""

    name = "tipsomaly"
    Config = TipsomalyConfig
    config: TipsomalyConfig

    def __init__(self, config: TipsomalyConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.prompts_: DecoupledPrompts | None = None
        self._saved: dict[str, Tensor] | None = None  # loaded state, turned into prompts on first use
        self._clip: OpenCLIP | None = None
        self._pixel_text: Tensor | None = None
        self._lock = threading.Lock()

    @classmethod
    def unavailable_reason(cls) -> str:
        """The deployment's checkpoint setting (``$POLYAD_VISION_TIPSOMALY_CHECKPOINT``) is empty or not a file.

        A stored version whose own config names a checkpoint is judged when it loads (FAILED_PRECONDITION).
        """
        path = os.environ.get(CHECKPOINT_ENV, "")
        if not path:
            return NO_CHECKPOINT_MESSAGE
        if not Path(path).is_file():
            return f"VLM checkpoint {path} (from {CHECKPOINT_ENV}) is not a file"
        return ""

    # -- the VLM -----------------------------------------------------------------------------
    def _vlm(self) -> OpenCLIP:
        """The frozen VLM of the configured checkpoint (loaded once); PreconditionError when unusable."""
        path = self.config.resolved_checkpoint()
        if self._clip is None:
            try:
                clip = load_openclip(path)
            except CheckpointError as error:
                raise PreconditionError(f"VLM checkpoint unusable: {error} (setting: checkpoint)", "checkpoint") \
                    from error
            clip.requires_grad_(False)
            self._clip = clip
        return self._clip

    def _tokenizer(self, vocab_size: int) -> ClipTokenizer:
        checkpoint = self.config.resolved_checkpoint()
        path = self.config.tokenizer or find_tokenizer_file(checkpoint)
        if not path:
            raise PreconditionError(f"no CLIP tokenizer file next to {checkpoint} (bpe_simple_vocab_16e6.txt.gz): "
                                    "put it there or set tokenizer in the detector config", "tokenizer")
        try:
            tokenizer = ClipTokenizer(path)
        except TokenizerError as error:
            raise PreconditionError(f"{error} (setting: tokenizer)", "tokenizer") from error
        if tokenizer.vocab_size > vocab_size:
            raise PreconditionError(f"tokenizer {path} has {tokenizer.vocab_size} tokens but the checkpoint's "
                                    f"embedding only {vocab_size}: they do not belong together", "tokenizer")
        return tokenizer

    def _ready(self) -> tuple[OpenCLIP, DecoupledPrompts, Tensor]:
        """VLM, prompts and pixel-level text embeddings ``(2, E)``, building them from loaded state once.

        Built outside inference mode even when first called from scoring, so the context stays trainable.
        """
        with self._lock, torch.inference_mode(False):
            clip = self._vlm()
            if self.prompts_ is None:
                state = self._saved
                template = state["prompts.template_tokens"].long()
                prompts = DecoupledPrompts(clip, template[:, None], template, self.config.n_ctx)  # cheap init
                try:
                    prompts.load_state_dict({k.removeprefix("prompts."): v for k, v in state.items()
                                             if k in STATE_KEYS})
                except RuntimeError as error:
                    raise PreconditionError(f"the stored prompts do not fit the configured checkpoint "
                                            f"{self.config.resolved_checkpoint()}: {error}", "checkpoint") from error
                self.prompts_ = prompts
            if self._pixel_text is None:
                with torch.no_grad():
                    self._pixel_text = self.prompts_.pixel_text()
            return clip, self.prompts_, self._pixel_text

    # -- fitting (zero-shot) -----------------------------------------------------------------
    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        cfg = self.config
        clip = self._vlm()
        tokenizer = self._tokenizer(clip.cfg.vocab_size)
        fixed, pixel = prompt_texts(cfg.object_name, cfg.n_ctx)
        length = clip.cfg.context_length
        fixed_tokens = torch.stack([tokenizer(texts, length) for texts in fixed])  # (2, K, L)
        template = tokenizer(pixel, length)
        if int(template.argmax(-1).min()) <= cfg.n_ctx + 1:
            raise PreconditionError(f"n_ctx={cfg.n_ctx} leaves no room for the state words in the checkpoint's "
                                    f"context length {length}", "n_ctx")
        with torch.no_grad():
            prompts = DecoupledPrompts(clip, fixed_tokens, template, cfg.n_ctx)
            seeded = torch.Generator().manual_seed(cfg.seed)
            prompts.context.copy_(0.02 * torch.randn(prompts.context.shape, generator=seeded))
        with self._lock:
            self.prompts_, self._saved, self._pixel_text = prompts, None, None
        size = cfg.image_size
        return {
            "n_images": len(data), "images_used": False, "zero_shot": True,
            "model_size": [size, size] if size else list(data.shape[1:3]),
            "checkpoint": str(Path(self.config.resolved_checkpoint())), "tokenizer": str(tokenizer.path),
            "vlm": asdict(clip.cfg),
            "prompts": {"image_level_per_state": fixed_tokens.shape[1], "pixel_level_n_ctx": cfg.n_ctx,
                        "pixel_context_trained": False},
        }

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:  # unused: ``_fit`` is overridden (zero-shot)
        return {}

    def train_pixel_prompts(self, images: np.ndarray, masks: np.ndarray, epochs: int | None = None,
                            seed: int | None = None) -> PromptTrainingResult:
        """Learn the pixel-level context on an auxiliary annotated set (images ``(N, H, W, 3)``, masks ``(N, H, W)``).

        Call after ``fit``; the images must come from categories other than the ones scored later (zero-shot).
        """
        self._check_fitted()
        images = self.validate_input(images)
        clip, prompts, _ = self._ready()
        x = self._preprocess(images)
        with torch.no_grad():
            patch = torch.cat([clip.encode_image(x[i : i + self.config.inference_batch])[1]
                               for i in range(0, len(x), self.config.inference_batch)])
        cfg = self.config
        result = train_pixel_context(patch, masks, prompts, cfg.temperature, epochs or cfg.prompt_epochs,
                                     lr=cfg.prompt_lr, seed=cfg.seed if seed is None else seed)
        with self._lock:
            self._pixel_text = None
        self.training_summary_.setdefault("prompts", {}).update(
            pixel_context_trained=True, auxiliary_images=result.n_images, prompt_epochs=len(result.epoch_losses),
            auxiliary_anomalous_pixels=round(result.anomalous_pixel_fraction, 4),
            prompt_loss_first_last=[round(result.epoch_losses[0], 4), round(result.epoch_losses[-1], 4)])
        return result

    # -- inference ---------------------------------------------------------------------------
    def _preprocess(self, images: np.ndarray) -> Tensor:
        """Validated ``(N, H, W, 3)`` -> CLIP-normalised ``(N, 3, S, S)``."""
        images = np.ascontiguousarray(images)
        t = torch.from_numpy(images if images.flags.writeable else images.copy()).permute(0, 3, 1, 2).float()
        if images.dtype == np.uint8:
            t = t / 255.0
        size = self.config.image_size
        if size is not None and tuple(t.shape[-2:]) != (size, size):
            t = F.interpolate(t, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        return (t - mean) / std

    def _fused(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Preprocessed ``(B, 3, S, S)`` -> fused image scores ``(B,)`` and raw maps ``(B, S, S)``."""
        clip, prompts, pixel_text = self._ready()
        global_emb, patch_emb = clip.encode_image(x)
        cfg = self.config
        return fuse(global_emb, patch_emb, prompts.image_text, pixel_text, tuple(x.shape[-2:]), cfg.fusion_weight,
                    cfg.temperature)

    def _raw_maps(self, x: Tensor) -> Tensor:
        return self._fused(x)[1]

    def _scores_and_maps(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self._preprocess(images)
        step = self.config.inference_batch
        scores, maps = [], []
        with torch.inference_mode():
            for i in range(0, len(x), step):
                s, m = self._fused(x[i : i + step])
                scores.append(s)
                maps.append(gaussian_blur(m, self.config.smoothing_sigma))
        out = torch.cat(maps)
        h, w = images.shape[1:3]
        if out.shape[-2:] != (h, w):
            out = F.interpolate(out[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        return torch.cat(scores).numpy().astype(np.float32), out.numpy().astype(np.float32)

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return self._scores_and_maps(batch)[0]

    def score_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Scores per batch (image-level fusion is per image, so batching changes nothing)."""
        self._check_fitted()
        return [self._score(self.validate_input(batch)) for batch in batches]

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        if self.prompts_ is not None:
            state = {f"prompts.{k}": v.detach().numpy().copy() for k, v in self.prompts_.state_dict().items()}
        else:
            state = {k: v.numpy().copy() for k, v in (self._saved or {}).items()}
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"tipsomaly state lacks {missing}")
        with self._lock:
            self._saved = {k: torch.from_numpy(np.array(state[k])) for k in STATE_KEYS}
            self.prompts_, self._pixel_text = None, None  # the VLM is loaded lazily, on first use
