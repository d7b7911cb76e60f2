"""VJE detector glue: seeded two-view training of the symmetric conditional ELBO, NLL scoring, persistence.

VJE is an image-level one-class method: its anomaly "map" is constant over each image (the image's score),
so the service's map field stays well-defined; it carries no localisation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.core.progress import progress
from services.vision.detectors.base import VisionDetector
from services.vision.detectors.vje.config import VJEConfig
from services.vision.detectors.vje.model import VJEModel, augment

__all__ = ["VJEConfig", "VJEDetector", "train_vje"]


def train_vje(model: VJEModel, x: Tensor, cfg: VJEConfig) -> list[float]:
    """Maximise the symmetric conditional ELBO on images ``(N, 3, S, S)``; returns the loss per epoch (nats/dim)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(x) // cfg.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.epochs * steps_per_epoch)
    batch = min(cfg.batch_size, len(x))
    dim = model.encoder.head.out_features
    model.train()
    history = []
    for _ in progress(cfg.epochs, "VJE training", "epoch", enabled=cfg.show_progress):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch: (step + 1) * batch]
            if len(index) < 2:
                continue
            views = augment(x[index], generator, cfg.augment_strength), augment(x[index], generator,
                                                                                 cfg.augment_strength)
            loss = -model.elbo(*views, generator=generator, kl_weight=cfg.kl_weight).mean() / dim
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        history.append(total / steps_per_epoch)
    model.eval()
    return history


class VJEDetector(VisionDetector):
    """Variational Joint Embedding (one-class): train on normal images, score by negative log-likelihood."""

    name = "vje"
    Config = VJEConfig
    config: VJEConfig

    def __init__(self, config: VJEConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.model_: VJEModel | None = None

    def _build(self) -> VJEModel:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            return VJEModel(cfg.embed_dim, cfg.width, cfg.hidden, cfg.nu, cfg.likelihood, cfg.representation)

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        cfg = self.config
        if len(x) > cfg.max_train_images:
            keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.max_train_images]
            x = x[keep.sort().values]
        self.model_ = self._build()
        history = train_vje(self.model_, x, cfg)
        self.model_.fit_prior(x)
        train_nll = self._nll(x) / cfg.embed_dim
        if not all(math.isfinite(v) for v in history):
            raise FloatingPointError(f"VJE training diverged (loss per epoch {history})")
        return {"train_images": len(x), "final_loss_per_dim": history[-1],
                "median_train_nll_per_dim": float(train_nll.median())}

    def _nll(self, x: Tensor) -> Tensor:
        """Images ``(N, 3, S, S)`` -> negative symmetric ELBO ``(N,)`` in nats, ``inference_batch`` at a time."""
        step = max(self.config.inference_batch, 64)
        with torch.inference_mode():
            return torch.cat([self.model_.nll(x[i: i + step]) for i in range(0, len(x), step)])

    def _raw_maps(self, x: Tensor) -> Tensor:
        return (self._nll(x) / self.config.embed_dim)[:, None, None]

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().copy() for k, v in self.model_.state_dict().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.model_ = self._build()
        self.model_.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        self.model_.eval()
