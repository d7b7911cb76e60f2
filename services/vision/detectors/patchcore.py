"""PatchCore baseline (Roth et al., CVPR 2022) on the same backbone and patch features as patch-flow.

Neighbor-aware patch features of the training images go through a greedy k-center coreset into a
memory bank; a test patch's anomaly score is its Euclidean distance to the nearest memory entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from services.vision.detectors.base import VisionConfig, VisionDetector
from services.vision.detectors.patch_flow.model import neighbor_aware_features

__all__ = ["PatchCoreConfig", "PatchCoreDetector", "greedy_coreset", "nearest_distance"]


class PatchCoreConfig(VisionConfig):
    """Hyper-parameters of :class:`PatchCoreDetector`."""

    layers: tuple[int, ...] = Field((0, 1), min_length=1, description="Backbone taps used (0..3 = stride 4..32).")
    neighbourhood: int = Field(3, ge=1, description="Side of the local averaging window (odd).")
    coreset_ratio: float = Field(0.02, gt=0.0, le=1.0, description="Fraction of training patches kept.")
    max_memory: int = Field(16384, ge=1, description="Upper bound on the memory bank size.")
    projection_dim: int = Field(128, ge=1, description="Random projection width used to pick the coreset.")
    query_chunk: int = Field(4096, ge=1, description="Patches per nearest-neighbour distance block.")


def greedy_coreset(feats: Tensor, size: int, projection_dim: int, generator: torch.Generator) -> Tensor:
    """Indices ``(size,)`` of a greedy k-center coreset of ``feats`` ``(N, C)``.

    Distances are measured after a fixed Gaussian random projection to ``projection_dim`` (as PatchCore
    does, Johnson–Lindenstrauss); the first center is drawn with ``generator``.
    """
    n, c = feats.shape
    if size >= n:
        return torch.arange(n)
    if projection_dim < c:
        feats = feats @ (torch.randn(c, projection_dim, generator=generator) / projection_dim**0.5)
    norms = feats.pow(2).sum(1)
    chosen = torch.empty(size, dtype=torch.long)
    chosen[0] = torch.randint(n, (1,), generator=generator)
    min_dist = torch.full((n,), float("inf"))
    for i in range(size):
        if i:
            chosen[i] = torch.argmax(min_dist)
        centre = chosen[i]
        min_dist = torch.minimum(min_dist, norms - 2 * (feats @ feats[centre]) + norms[centre])
    return chosen


def nearest_distance(queries: Tensor, memory: Tensor, chunk: int = 4096) -> Tensor:
    """Euclidean distance ``(N,)`` from each query ``(N, C)`` to its nearest row of ``memory`` ``(M, C)``."""
    out = []
    m_sq = memory.pow(2).sum(1)
    for i in range(0, len(queries), chunk):
        q = queries[i : i + chunk]
        partial = torch.addmm(m_sq, q, memory.T, alpha=-2.0).min(1).values  # ||m||^2 - 2 q.m, one pass
        out.append((partial + q.pow(2).sum(1)).clamp_min(0).sqrt())
    return torch.cat(out)


class PatchCoreDetector(VisionDetector):
    """PatchCore: coreset memory bank of neighbor-aware patch features, nearest-neighbour distance maps."""

    name = "patchcore"
    Config = PatchCoreConfig
    config: PatchCoreConfig

    def __init__(self, config: PatchCoreConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.memory_: Tensor | None = None

    def _features(self, x: Tensor) -> Tensor:
        """Images ``(B, 3, S, S)`` -> patch features ``(B, h, w, C)``."""
        feats = neighbor_aware_features(self._taps(x, self.config.layers), self.config.neighbourhood)
        return feats.permute(0, 2, 3, 1).contiguous()

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        cfg = self.config
        feats = self._features(x)
        flat = feats.reshape(-1, feats.shape[-1])
        size = min(cfg.max_memory, max(1, round(cfg.coreset_ratio * len(flat))))
        generator = torch.Generator().manual_seed(cfg.seed)
        self.memory_ = flat[greedy_coreset(flat, size, cfg.projection_dim, generator)].contiguous()
        return {"train_patches": len(flat), "memory_size": len(self.memory_), "grid": list(feats.shape[1:3])}

    def _raw_maps(self, x: Tensor) -> Tensor:
        feats = self._features(x)
        b, h, w, c = feats.shape
        return nearest_distance(feats.reshape(-1, c), self.memory_, self.config.query_chunk).reshape(b, h, w)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"memory": self.memory_.numpy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.memory_ = torch.from_numpy(state["memory"].copy())
