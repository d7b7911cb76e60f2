"""Patch-flow detector glue: feature extraction, PCA whitening, joint adapter + flow training, NLL maps."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.core.progress import progress
from services.vision.detectors.base import VisionDetector
from services.vision.detectors.patch_flow.config import PatchFlowConfig
from services.vision.detectors.patch_flow.model import (
    ConditionalFlow,
    FeatureAdapter,
    neighbor_aware_features,
    positional_encoding,
)

__all__ = ["PatchFlowConfig", "PatchFlowDetector"]


def whitening(feats: Tensor, d: int) -> tuple[Tensor, Tensor]:
    """Flat features ``(N, C)`` -> mean ``(C,)`` and projection ``(C, d)`` onto the top-``d`` PCA axes,
    scaled to unit variance; each axis's sign is fixed so the result is deterministic."""
    mean = feats.mean(0)
    centred = (feats - mean).double()
    eigval, eigvec = torch.linalg.eigh(centred.T @ centred / (len(feats) - 1))
    eigval, eigvec = eigval.flip(0)[:d], eigvec.flip(1)[:, :d]
    eigvec = eigvec * torch.sign(eigvec[eigvec.abs().argmax(0), torch.arange(d)])
    return mean, (eigvec / eigval.clamp_min(1e-8).sqrt()).float()


class PatchFlowDetector(VisionDetector):
    """Neighbor-aware patch features + adapter + position-conditioned normalizing flow (die-casting paper)."""

    name = "patch_flow"
    Config = PatchFlowConfig
    config: PatchFlowConfig

    def __init__(self, config: PatchFlowConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.adapter_: FeatureAdapter | None = None
        self.flow_: ConditionalFlow | None = None

    def _patch_features(self, x: Tensor) -> Tensor:
        """Images ``(B, 3, S, S)`` -> whitened patch features ``(B, h, w, d)``."""
        feats = neighbor_aware_features(self._taps(x, self.config.layers), self.config.neighbourhood)
        return (feats.permute(0, 2, 3, 1) - self.mean_) @ self.proj_

    def _build(self, d: int) -> None:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.adapter_ = FeatureAdapter(d)
            self.flow_ = ConditionalFlow(d, cfg.pos_dim, cfg.flow_steps, cfg.flow_hidden, cfg.clamp, cfg.seed)

    def _nll(self, z: Tensor, pos: Tensor) -> Tensor:
        """Whitened features ``(N, d)`` at positions ``(N, p)`` -> NLL in nats ``(N,)`` through adapter + flow."""
        if not self.config.adapter:
            return self.flow_.nll(z, pos)
        y, logdet = self.adapter_(z)
        return self.flow_.nll(y, pos) - logdet

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        feats = neighbor_aware_features(self._taps(x, cfg.layers), cfg.neighbourhood).permute(0, 2, 3, 1)
        n, h, w, c = feats.shape
        d = min(cfg.feature_dim, c - c % 2)
        flat = feats.reshape(-1, c)
        pos = positional_encoding(h, w, cfg.pos_dim).repeat(n, 1)
        keep = torch.randperm(len(flat), generator=generator)[: cfg.max_train_patches]
        flat, pos = flat[keep], pos[keep]
        self.mean_, self.proj_ = whitening(flat, d)
        z = (flat - self.mean_) @ self.proj_
        self._build(d)
        params = [*(self.adapter_.parameters() if cfg.adapter else ()), *self.flow_.parameters()]
        optimiser = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.train_steps, eta_min=cfg.lr * 0.05)
        init = torch.randperm(len(z), generator=generator)[: 4 * cfg.batch_patches]
        self.flow_.initialise(z[init], pos[init])
        losses: list[float] = []
        for _ in progress(cfg.train_steps, "patch-flow training", "step", enabled=cfg.show_progress):
            index = torch.randint(len(z), (cfg.batch_patches,), generator=generator)
            noise = cfg.noise_std * torch.randn(len(index), d, generator=generator)
            nll = self._nll(z[index] + noise, pos[index]).mean() / d
            optimiser.zero_grad()
            nll.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimiser.step()
            schedule.step()
            losses.append(float(nll.detach()))
        self.adapter_.eval()
        self.flow_.eval()
        with torch.no_grad():
            sample = torch.cat([self._nll(z[i : i + 8192], pos[i : i + 8192])
                                for i in range(0, min(len(z), 65536), 8192)]) / d
        low, mid, high = torch.quantile(sample, torch.tensor([0.25, 0.5, 0.75]))
        self.nll_stats_ = torch.stack([mid, (high - low).clamp_min(1e-6)])
        tail = losses[-50:]
        return {"train_patches": len(z), "feature_dim": d, "grid": [h, w], "final_nll_per_dim": sum(tail) / len(tail)}

    def _raw_maps(self, x: Tensor) -> Tensor:
        z = self._patch_features(x)
        b, h, w, d = z.shape
        pos = positional_encoding(h, w, self.config.pos_dim).repeat(b, 1)
        nll = self._nll(z.reshape(-1, d), pos).reshape(b, h, w) / d
        u = (nll - self.nll_stats_[0]) / self.nll_stats_[1]
        return u.sign() * u.abs().log1p()  # robust z-score, log-compressed: far-out patches do not swamp the map

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"adapter.{k}": v.detach().numpy().copy() for k, v in self.adapter_.state_dict().items()}
        state.update({f"flow.{k}": v.detach().numpy().copy() for k, v in self.flow_.state_dict().items()})
        state.update(mean=self.mean_.numpy(), proj=self.proj_.numpy(), nll_stats=self.nll_stats_.numpy())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.mean_ = torch.from_numpy(state["mean"].copy())
        self.proj_ = torch.from_numpy(state["proj"].copy())
        self.nll_stats_ = torch.from_numpy(state["nll_stats"].copy())
        self._build(self.proj_.shape[1])
        for prefix, module in (("adapter.", self.adapter_), ("flow.", self.flow_)):
            module.load_state_dict({k[len(prefix):]: torch.from_numpy(v.copy()) for k, v in state.items()
                                    if k.startswith(prefix)})
            module.eval()
