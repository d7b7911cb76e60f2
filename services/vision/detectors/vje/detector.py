"""VJE detector glue: trunk features of augmented views, seeded training of the symmetric conditional ELBO,
negative-log-likelihood scoring, persistence.

The encoder is the suite's frozen pretrained trunk (EfficientNet-Lite0 taps ``layers``, average-pooled and
concatenated) followed by VJE's trainable projector; the trunk features of ``views`` augmented views of every
training image are computed once, and each step pairs two different views of each image. VJE is an image-level
method: its anomaly "map" is constant over each image (the image's score); it carries no localisation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.core.errors import InvalidInputError
from services.core.progress import progress
from services.vision.backbone import TAP_CHANNELS
from services.vision.detectors.base import VisionDetector
from services.vision.detectors.vje.config import VJEConfig
from services.vision.detectors.vje.model import VJEModel, augment

__all__ = ["VJEConfig", "VJEDetector", "pair_batches", "train_vje"]


def pair_batches(views: Tensor, cfg: VJEConfig, generator: torch.Generator) -> list[tuple[Tensor, Tensor]]:
    """One epoch of ``(f_a, f_b)`` batches ``(B, C)`` from view features ``(V, N, C)``: two different views of each
    image in a seeded random order (shared by VJE and the plain baseline of ``bench/vje.py``)."""
    n_views, n = views.shape[:2]
    order = torch.randperm(n, generator=generator)
    first = torch.randint(n_views, (n,), generator=generator)
    second = (first + torch.randint(1, n_views, (n,), generator=generator)) % n_views
    batch = min(cfg.batch_size, n)
    index = [order[start: start + batch] for start in range(0, n - batch + 1, batch)]
    return [(views[first[i], i], views[second[i], i]) for i in index]


def train_vje(model: VJEModel, views: Tensor, cfg: VJEConfig) -> list[float]:
    """Maximise the symmetric conditional ELBO on view features ``(V, N, C)``; returns the loss per epoch
    (negative ELBO in nats per embedding dimension)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = views.shape[1] // min(cfg.batch_size, views.shape[1])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.epochs * steps)
    dim = model.posterior.mean.out_features
    model.train()
    history = []
    for _ in progress(cfg.epochs, "VJE training", "epoch", enabled=cfg.show_progress):
        total = 0.0
        for f_a, f_b in pair_batches(views, cfg, generator):
            loss = -model.elbo(f_a, f_b, generator=generator, kl_weight=cfg.kl_weight).mean() / dim
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        history.append(total / steps)
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
            return VJEModel(self.in_dim, self.embed_dim, cfg.hidden, cfg.nu, cfg.likelihood, cfg.representation,
                            cfg.sigma)

    @property
    def in_dim(self) -> int:
        """Width ``C`` of the pooled trunk features."""
        return sum(TAP_CHANNELS[i] for i in self.config.layers)

    @property
    def embed_dim(self) -> int:
        """Embedding width ``D`` (the trunk width unless configured)."""
        return self.config.embed_dim or self.in_dim

    def features(self, x: Tensor) -> Tensor:
        """Preprocessed images ``(N, 3, S, S)`` -> pooled frozen-trunk features ``(N, C)``."""
        return torch.cat([tap.mean((-2, -1)) for tap in self._taps(x, tuple(self.config.layers), chunk=64)], 1)

    def view_features(self, x: Tensor) -> Tensor:
        """Trunk features of ``views`` seeded augmented views of images ``(N, 3, S, S)`` -> ``(V, N, C)``."""
        generator = torch.Generator().manual_seed(self.config.seed)
        return torch.stack([self.features(augment(x, generator, self.config.augment_strength))
                            for _ in range(self.config.views)])

    def fit_features(self, views: Tensor, plain: Tensor) -> dict[str, Any]:
        """Train on view features ``(V, N, C)``; refit the scoring prior on un-augmented features ``(N, C)``."""
        cfg = self.config
        self.model_ = self._build()
        history = train_vje(self.model_, views, cfg)
        if not all(math.isfinite(v) for v in history):
            raise FloatingPointError(f"VJE training diverged (loss per epoch {history})")
        if cfg.score_prior == "fitted":
            cov_means = None
            if cfg.prior_shrinkage == "ledoit_wolf":
                from sklearn.covariance import ledoit_wolf

                cov_means = torch.from_numpy(ledoit_wolf(self.model_.posterior_means(plain).double().numpy())[0])
            self.model_.fit_prior(plain, cov_means)
        return {"train_images": views.shape[1], "final_loss_per_dim": history[-1]}

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        cfg = self.config
        if len(x) < 2:
            raise InvalidInputError(f"VJE needs at least 2 normal training images, got {len(x)}")
        if len(x) > cfg.max_train_images:
            keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))[: cfg.max_train_images]
            x = x[keep.sort().values]
        summary = self.fit_features(self.view_features(x), self.features(x))
        train_nll = self._raw_maps(x)[:, 0, 0]
        return {**summary, "median_train_nll_per_dim": float(train_nll.median())}

    def nll_features(self, f: Tensor, f_other: Tensor) -> Tensor:
        """Features of two views of each image ``(N, C)`` -> negative symmetric ELBO per dimension ``(N,)`` (the
        anomaly score)."""
        with torch.inference_mode():
            return self.model_.nll(f, f_other) / self.embed_dim

    def _raw_maps(self, x: Tensor) -> Tensor:
        f = self.features(x)
        other = f if self.config.test_view == "same" else self.features(x.flip(-1))
        return self.nll_features(f, other)[:, None, None]

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().copy() for k, v in self.model_.state_dict().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.model_ = self._build()
        self.model_.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        self.model_.eval()
