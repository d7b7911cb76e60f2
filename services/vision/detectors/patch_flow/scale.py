"""One patch-flow scale: PCA whitening, adapter and position-conditioned flow fitted on one feature map.

The detector fits one scale per tap (``per_tap_flows``, default; the multi-scale fusion of CFLOW-AD) or one on
the concatenated taps. Shapes: ``N`` patches, ``C`` feature channels, ``d`` whitened width,
``p`` positional width, ``(h, w)`` this scale's patch grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.core.progress import progress
from services.vision.detectors.patch_flow.config import PatchFlowConfig
from services.vision.detectors.patch_flow.model import ConditionalFlow, FeatureAdapter, positional_encoding

__all__ = ["ScaleFlow", "whitening"]


def whitening(feats: Tensor, d: int) -> tuple[Tensor, Tensor]:
    """Flat features ``(N, C)`` -> mean ``(C,)`` and projection ``(C, d)`` onto the top-``d`` PCA axes,
    scaled to unit variance; each axis's sign is fixed so the result is deterministic."""
    mean = feats.mean(0)
    centred = (feats - mean).double()
    eigval, eigvec = torch.linalg.eigh(centred.T @ centred / (len(feats) - 1))
    eigval, eigvec = eigval.flip(0)[:d], eigvec.flip(1)[:, :d]
    eigvec = eigvec * torch.sign(eigvec[eigvec.abs().argmax(0), torch.arange(d)])
    return mean, (eigvec / eigval.clamp_min(1e-8).sqrt()).float()


class ScaleFlow:
    """Whitening + residual adapter + conditional flow on one feature map; maps are robust NLL z-scores."""

    def __init__(self, config: PatchFlowConfig) -> None:
        self.config = config
        self.mean: Tensor | None = None
        self.proj: Tensor | None = None
        self.nll_stats: Tensor | None = None  # (2,): median and IQR of training NLL per dimension
        self.adapter: FeatureAdapter | None = None
        self.flow: ConditionalFlow | None = None

    def _build(self, d: int) -> None:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.adapter = FeatureAdapter(d)
            self.flow = ConditionalFlow(d, cfg.pos_dim, cfg.flow_steps, cfg.flow_hidden, cfg.clamp, cfg.seed)

    def _nll(self, z: Tensor, pos: Tensor) -> Tensor:
        """Whitened features ``(N, d)`` at positions ``(N, p)`` -> NLL in nats ``(N,)`` through adapter + flow."""
        if not self.config.adapter:
            return self.flow.nll(z, pos)
        y, logdet = self.adapter(z)
        return self.flow.nll(y, pos) - logdet

    def fit(self, feats: Tensor, label: str = "patch-flow training") -> dict[str, Any]:
        """Learn from normal feature maps ``(B, C, h, w)``; return a training summary."""
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        feats = feats.permute(0, 2, 3, 1)
        n, h, w, c = feats.shape
        d = min(cfg.feature_dim, c - c % 2)
        flat = feats.reshape(-1, c)
        pos = positional_encoding(h, w, cfg.pos_dim).repeat(n, 1)
        keep = torch.randperm(len(flat), generator=generator)[: cfg.max_train_patches]
        flat, pos = flat[keep], pos[keep]
        self.mean, self.proj = whitening(flat, d)
        z = (flat - self.mean) @ self.proj
        self._build(d)
        params = [*(self.adapter.parameters() if cfg.adapter else ()), *self.flow.parameters()]
        optimiser = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.train_steps, eta_min=cfg.lr * 0.05)
        init = torch.randperm(len(z), generator=generator)[: 4 * cfg.batch_patches]
        self.flow.initialise(z[init], pos[init])
        losses: list[float] = []
        for _ in progress(cfg.train_steps, label, "step", enabled=cfg.show_progress):
            index = torch.randint(len(z), (cfg.batch_patches,), generator=generator)
            noise = cfg.noise_std * torch.randn(len(index), d, generator=generator)
            nll = self._nll(z[index] + noise, pos[index]).mean() / d
            optimiser.zero_grad()
            nll.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimiser.step()
            schedule.step()
            losses.append(float(nll.detach()))
        self.adapter.eval()
        self.flow.eval()
        with torch.no_grad():
            sample = torch.cat([self._nll(z[i : i + 8192], pos[i : i + 8192])
                                for i in range(0, min(len(z), 65536), 8192)]) / d
        low, mid, high = torch.quantile(sample, torch.tensor([0.25, 0.5, 0.75]))
        self.nll_stats = torch.stack([mid, (high - low).clamp_min(1e-6)])
        tail = losses[-50:]
        return {"train_patches": len(z), "feature_dim": d, "grid": [h, w], "final_nll_per_dim": sum(tail) / len(tail)}

    def map(self, feats: Tensor) -> Tensor:
        """Feature maps ``(B, C, h, w)`` -> robust, log-compressed NLL z-scores ``(B, h, w)``."""
        b, _, h, w = feats.shape
        z = (feats.permute(0, 2, 3, 1) - self.mean) @ self.proj
        pos = positional_encoding(h, w, self.config.pos_dim).repeat(b, 1)
        nll = self._nll(z.reshape(b * h * w, -1), pos).reshape(b, h, w) / z.shape[-1]
        u = (nll - self.nll_stats[0]) / self.nll_stats[1]
        return u.sign() * u.abs().log1p()  # far-out patches do not swamp the map

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Arrays under ``prefix`` (empty for the first scale, so single-scale models keep their keys)."""
        state = {f"{prefix}adapter.{k}": v.detach().numpy().copy() for k, v in self.adapter.state_dict().items()}
        state.update({f"{prefix}flow.{k}": v.detach().numpy().copy() for k, v in self.flow.state_dict().items()})
        state.update({f"{prefix}mean": self.mean.numpy(), f"{prefix}proj": self.proj.numpy(),
                      f"{prefix}nll_stats": self.nll_stats.numpy()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray], prefix: str = "") -> None:
        self.mean = torch.from_numpy(state[f"{prefix}mean"].copy())
        self.proj = torch.from_numpy(state[f"{prefix}proj"].copy())
        self.nll_stats = torch.from_numpy(state[f"{prefix}nll_stats"].copy())
        self._build(self.proj.shape[1])
        for part, module in ((f"{prefix}adapter.", self.adapter), (f"{prefix}flow.", self.flow)):
            module.load_state_dict({k[len(part):]: torch.from_numpy(v.copy()) for k, v in state.items()
                                    if k.startswith(part)})
            module.eval()
