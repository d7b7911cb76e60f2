"""Self-supervised VQ-VAE training of :class:`CometNet` and the training-time score statistics."""

from __future__ import annotations

import torch
from torch import Tensor

from services.core.progress import progress
from services.timeseries.detectors.comet.config import CometConfig
from services.timeseries.detectors.comet.coreset import nearest_distance, robust_stats
from services.timeseries.detectors.comet.model import CometNet

__all__ = ["fit_statistics", "train_net"]

RESTART_EVERY = 50
STATS_SAMPLE = 4096


def _assign_random(net: CometNet, windows: Tensor, mask: Tensor, generator: torch.Generator) -> None:
    """Set codewords where ``mask`` ``(S, K)`` is true to random embeddings of ``windows``."""
    with torch.no_grad():
        for s, z in enumerate(net.encode(windows)):
            if bool(mask[s].any()):
                flat = z.reshape(-1, z.shape[-1])
                pick = torch.randint(len(flat), (int(mask[s].sum()),), generator=generator)
                net.codebook.data[s, mask[s]] = flat[pick]


def train_net(net: CometNet, windows: Tensor, cfg: CometConfig, generator: torch.Generator) -> float:
    """Train on normal windows ``(N, C, W)``; returns the mean loss of the last 20 steps.

    The codebook starts from random encoder outputs, and codewords unused for ``RESTART_EVERY``
    steps are restarted from random embeddings of the current batch (dead-code restart).
    """
    n, k = len(windows), cfg.codebook_size
    init = windows[torch.randint(n, (min(n, 256),), generator=generator)]
    _assign_random(net, init, torch.ones(len(cfg.patch_sizes), k, dtype=torch.bool), generator)
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    usage = torch.zeros(len(cfg.patch_sizes), k)
    losses: list[float] = []
    net.train()
    for step in progress(cfg.train_steps, "COMET training", "step", enabled=cfg.show_progress):
        batch = windows[torch.randint(n, (cfg.batch_size,), generator=generator)]
        loss, used = net.loss(batch, cfg.commitment)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        for s, index in enumerate(used):
            usage[s] += torch.bincount(index, minlength=k)
        if (step + 1) % RESTART_EVERY == 0 and step + 1 < cfg.train_steps:
            net.eval()
            _assign_random(net, batch, usage == 0, generator)
            net.train()
            usage.zero_()
    net.eval()
    return sum(losses[-20:]) / len(losses[-20:])


def fit_statistics(
    net: CometNet, memory: Tensor, embeddings: list[Tensor], cfg: CometConfig, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Score statistics ``(S, 4)`` = [q median, q IQR, m median, m IQR] and adaptation thresholds ``(S,)``.

    Computed on up to ``STATS_SAMPLE`` training patch embeddings per scale (``embeddings[s]`` is
    ``(N_s, d)``); memory distances skip the patch itself when it is a memory entry.
    """
    stats, thresholds = [], []
    for s, z in enumerate(embeddings):
        sample = z[torch.randperm(len(z), generator=generator)[:STATS_SAMPLE]]
        q, _ = net.quantize(sample, s)
        m = nearest_distance(sample, memory[s], exclude_self=True)
        stats.append([*robust_stats(q), *robust_stats(m)])
        thresholds.append(float(torch.quantile(q, cfg.adapt_quantile)))
    return torch.tensor(stats, dtype=torch.float32), torch.tensor(thresholds, dtype=torch.float32)
