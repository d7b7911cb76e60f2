"""Multi-AD detector glue: distillation, discriminator training on synthesised anomalies, fused maps.

1. The student (SE-CNN) learns to reproduce the frozen pretrained teacher's taps on normal crops
   (per-scale cosine distillation loss).
2. The student is frozen; normal images and copies carrying train-time synthetic anomalies
   (``services.vision.data.synthesize_training_anomaly``) give teacher–student discrepancies, on which
   the discriminator learns to segment the synthetic masks (focal + dice loss).
3. Inference fuses the discriminator's probability with the multi-scale discrepancy maps (each scaled by
   its training quantile) on the finest grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.core.contract import TensorGraph
from services.core.progress import progress
from services.vision.detectors.base import VisionDetector
from services.vision.detectors.multi_ad.config import MultiADConfig
from services.vision.detectors.multi_ad.model import Discriminator, SEStudent, discrepancy

__all__ = ["MultiADConfig", "MultiADDetector"]


def focal_dice_loss(logits: Tensor, target: Tensor, gamma: float) -> Tensor:
    """Focal BCE (soft targets) + soft dice for logits and targets ``(B, h, w)`` in [0, 1]."""
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    focal = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * (1 - p_t).pow(gamma)).mean()
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return focal + dice


def _flip(tensors: list[Tensor], generator: torch.Generator) -> list[Tensor]:
    """The same random horizontal / vertical flip applied to every tensor's last two axes."""
    dims = [d for d, flip in ((-1, True), (-2, True)) if flip and torch.rand((), generator=generator) < 0.5]
    return [t.flip(dims) for t in tensors] if dims else tensors


class MultiADDetector(VisionDetector):
    """Multi-AD: SE-CNN teacher–student distillation + anomaly discriminator, multi-scale fusion."""

    name = "multi_ad"
    Config = MultiADConfig
    config: MultiADConfig

    def __init__(self, config: MultiADConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.student_: SEStudent | None = None
        self.discriminator_: Discriminator | None = None

    def _build(self) -> None:
        from services.vision.backbone import TAP_CHANNELS

        cfg = self.config
        channels = tuple(TAP_CHANNELS[i] for i in cfg.layers)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.student_ = SEStudent(channels, cfg.student_width, cfg.student_blocks, cfg.se_reduction, cfg.se_blocks)
            self.discriminator_ = Discriminator(channels, width=cfg.disc_width)
        self.scale_ = torch.ones(len(channels))

    def _discrepancy(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """Images ``(B, 3, S, S)`` -> per-channel discrepancies and cosine maps (see ``model.discrepancy``)."""
        with torch.no_grad():
            return discrepancy(self._taps(x, self.config.layers), self.student_(x))

    # -- training ----------------------------------------------------------------------------
    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        self._build()
        kd_loss = self._distil(x, generator)
        self.student_.eval()
        maps = torch.cat([self._discrepancy(x[i : i + 16])[1] for i in range(0, len(x), 16)])  # (N, S, h, w)
        self.scale_ = torch.quantile(maps.transpose(0, 1).reshape(len(cfg.layers), -1)[:, ::7], cfg.norm_quantile, 1)
        disc_loss = round(self._train_discriminator(x, generator), 5) if cfg.discriminator else None
        self.discriminator_.eval()
        return {"kd_loss": round(kd_loss, 5), "disc_loss": disc_loss, "scale": self.scale_.tolist()}

    def _distil(self, x: Tensor, generator: torch.Generator) -> float:
        """Cosine feature distillation on random (flipped) crops of normal images; mean loss of the last 20 steps."""
        cfg = self.config
        crop = min(cfg.kd_crop, x.shape[-2], x.shape[-1])
        optimiser = torch.optim.Adam(self.student_.parameters(), lr=cfg.kd_lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.kd_steps, eta_min=cfg.kd_lr * 0.02)
        self.student_.train()
        losses: list[float] = []
        for _ in progress(cfg.kd_steps, "Multi-AD distillation", "step", enabled=cfg.show_progress):
            index = torch.randint(len(x), (cfg.kd_batch,), generator=generator)
            top = int(torch.randint(x.shape[-2] - crop + 1, (), generator=generator))
            left = int(torch.randint(x.shape[-1] - crop + 1, (), generator=generator))
            batch = x[index, :, top : top + crop, left : left + crop]
            if cfg.augment:
                batch = _flip([batch], generator)[0]
            teacher = self._taps(batch, cfg.layers)
            student = self.student_(batch)
            loss = sum((1 - F.cosine_similarity(t, s, dim=1)).mean() for t, s in zip(teacher, student, strict=True))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        return sum(losses[-20:]) / len(losses[-20:])

    def _synthesise(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Copies of the training images with train-time anomalies: ``(M, 3, S, S)`` and masks ``(M, S, S)``."""
        from services.vision.backbone import IMAGENET_MEAN, IMAGENET_STD, preprocess
        from services.vision.data import synthesize_training_anomaly

        mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        images = ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        rng = np.random.default_rng(self.config.seed)
        pairs = [synthesize_training_anomaly(im, rng) for _ in range(self.config.synthetic_per_image) for im in images]
        masks = torch.from_numpy(np.stack([m for _, m in pairs])).float()
        return preprocess(np.stack([im for im, _ in pairs])), masks

    def _train_discriminator(self, x: Tensor, generator: torch.Generator) -> float:
        """Train on cached discrepancies of normal and synthesised images; mean loss of the last 20 steps."""
        cfg = self.config
        anomalous, masks = self._synthesise(x)
        images = torch.cat([x, anomalous])
        parts = [self._discrepancy(images[i : i + 16]) for i in range(0, len(images), 16)]
        channel = [torch.cat([p[0][s] for p in parts]) for s in range(len(cfg.layers))]
        maps = torch.cat([p[1] for p in parts])
        targets = torch.cat([torch.zeros(len(x), *masks.shape[1:]), masks])
        targets = F.adaptive_avg_pool2d(targets[:, None], maps.shape[-2:])[:, 0]
        n_normal, n_total = len(x), len(images)
        optimiser = torch.optim.Adam(self.discriminator_.parameters(), lr=cfg.disc_lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.disc_steps, eta_min=cfg.disc_lr * 0.02)
        self.discriminator_.train()
        losses: list[float] = []
        half = max(1, cfg.disc_batch // 2)
        for _ in progress(cfg.disc_steps, "Multi-AD discriminator", "step", enabled=cfg.show_progress):
            index = torch.cat([torch.randint(n_normal, (half,), generator=generator),
                               torch.randint(n_normal, n_total, (cfg.disc_batch - half,), generator=generator)])
            batch = [c[index] for c in channel] + [maps[index], targets[index]]
            if cfg.augment:
                batch = _flip(batch, generator)
            logits = self.discriminator_(batch[:-2], batch[-2])
            loss = focal_dice_loss(logits, batch[-1], cfg.focal_gamma)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        return sum(losses[-20:]) / len(losses[-20:])

    # -- inference ---------------------------------------------------------------------------
    def _raw_maps(self, x: Tensor) -> Tensor:
        channel, maps = self._discrepancy(x)
        normalised = (maps / self.scale_.view(1, -1, 1, 1)).mean(1)
        if not self.config.discriminator:
            return normalised
        probability = torch.sigmoid(self.discriminator_(channel, maps))
        w = self.config.fusion_weight
        return w * probability + (1 - w) * normalised

    def tensor_graph(self) -> TensorGraph:
        """Scoring as one traceable graph: uint8 images ``(N, S, S, 3)`` → scores ``(N,)``, maps ``(N, S, S)``."""
        from services.vision.detectors.graph import vision_tensor_graph

        self._check_fitted()
        return vision_tensor_graph(self)

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"student.{k}": v.detach().numpy().copy() for k, v in self.student_.state_dict().items()}
        state.update({f"discriminator.{k}": v.detach().numpy().copy()
                      for k, v in self.discriminator_.state_dict().items()})
        state["scale"] = self.scale_.numpy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._build()
        for prefix, module in (("student.", self.student_), ("discriminator.", self.discriminator_)):
            module.load_state_dict({k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in state.items()
                                    if k.startswith(prefix)})
            module.eval()
        self.scale_ = torch.from_numpy(state["scale"].copy())
