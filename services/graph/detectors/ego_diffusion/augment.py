"""Ego-graph diffusion as an augmenter: build its training set, train it, and sample synthetic anomalies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
from services.graph.detectors.ego_diffusion.denoiser import Denoiser
from services.graph.detectors.ego_diffusion.diffusion import DenseEgoGraphs, EgoDiffusion, connect_to_center
from services.graph.detectors.ego_diffusion.ego import CSR, dense_ego
from services.graph.detectors.ego_diffusion.features import Binning

__all__ = ["Augmenter", "ego_dataset", "train_diffusion"]


def ego_dataset(csr: CSR, z: Tensor, anomalies: np.ndarray, patterns: np.ndarray, binning: Binning,
                cfg: EgoDiffusionConfig, rng: np.random.Generator, target_size: int = 512) -> DenseEgoGraphs:
    """Several sampled ego-graphs per known anomaly (``target_size`` in all, 1–8 each), padded to ``ego_max_nodes``."""
    repeats = int(np.clip(np.ceil(target_size / max(len(anomalies), 1)), 1, 8))
    n_max, d = cfg.ego_max_nodes, z.shape[1]
    count = len(anomalies) * repeats
    bins = torch.zeros(count, n_max, d, dtype=torch.long)
    adj = torch.zeros(count, n_max, n_max, dtype=torch.long)
    mask = torch.zeros(count, n_max, dtype=torch.bool)
    pattern = torch.zeros(count, dtype=torch.long)
    row = 0
    for center, p in zip(anomalies.tolist(), patterns.tolist(), strict=True):
        for _ in range(repeats):
            nodes, a = dense_ego(csr, center, cfg.hops, n_max, rng)
            n = len(nodes)
            bins[row, :n] = binning.encode(z[torch.from_numpy(nodes)])
            adj[row, :n, :n] = torch.from_numpy(a).long()
            mask[row, :n], pattern[row] = True, p
            row += 1
    return DenseEgoGraphs(bins, adj, mask, pattern)


def train_diffusion(data: DenseEgoGraphs, n_patterns: int, cfg: EgoDiffusionConfig, generator: torch.Generator
                    ) -> tuple[EgoDiffusion, list[float]]:
    """Fit the denoiser on ``data``; returns the diffusion and its loss curve."""
    from services.core.progress import progress

    d = data.bins.shape[2]
    denoiser = Denoiser(d, cfg.n_bins, n_patterns, cfg.diffusion_hidden, cfg.diffusion_layers)
    edge_m, attr_m = EgoDiffusion.marginals(data, cfg.n_bins)
    diffusion = EgoDiffusion(denoiser, cfg.diffusion_steps, edge_m, attr_m)
    optimiser = torch.optim.AdamW(denoiser.parameters(), lr=cfg.diffusion_lr, weight_decay=1e-4)
    losses = []
    for _ in progress(cfg.diffusion_train_steps, "ego-graph diffusion", "step", enabled=cfg.show_progress):
        index = torch.randint(len(data), (min(cfg.diffusion_batch, len(data)),), generator=generator)
        loss = diffusion.loss(data.take(index), generator)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(denoiser.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
    denoiser.eval()
    return diffusion, losses


@dataclass
class Augmenter:
    """Samples synthetic anomalous ego-graphs per pattern, with sizes drawn from that pattern's real ones."""

    diffusion: EgoDiffusion
    binning: Binning
    sizes: list[np.ndarray]  # per pattern: node counts of its real ego-graphs

    def sample(self, counts: np.ndarray, generator: torch.Generator,
               rng: np.random.Generator) -> list[tuple[Tensor, Tensor, int]]:
        """``counts[p]`` ego-graphs of pattern ``p`` as (inputs ``(n, D)``, adjacency ``(n, n)`` bool, ``p``)."""
        out: list[tuple[Tensor, Tensor, int]] = []
        for p, count in enumerate(counts.tolist()):
            if count == 0:
                continue
            sizes = torch.from_numpy(rng.choice(self.sizes[p], size=count)).long()
            bins, adj = self.diffusion.sample(sizes, torch.full((count,), p, dtype=torch.long), generator)
            for i, n in enumerate(sizes.tolist()):
                graph = connect_to_center(adj[i, :n, :n].numpy().astype(bool), rng)
                out.append((self.binning.decode(bins[i, :n], generator), torch.from_numpy(graph), p))
        return out
