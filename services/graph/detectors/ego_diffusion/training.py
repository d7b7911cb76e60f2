"""GNN training on mini-batches of ego-graphs: class-balanced, with curriculum-scheduled synthetic anomalies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.graph.detectors.ego_diffusion.augment import Augmenter
from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
from services.graph.detectors.ego_diffusion.curriculum import CurriculumScheduler, pattern_difficulty
from services.graph.detectors.ego_diffusion.ego import EgoBatch, khop_batch, merge, union_of_small_graphs
from services.graph.detectors.ego_diffusion.gnn import EgoGNN

__all__ = ["LabelledGraph", "TrainingLog", "train_gnn"]


@dataclass(frozen=True)
class LabelledGraph:
    """Training graph: inputs ``z`` ``(N, D)``, edges ``(2, E)``, labelled normals ``(K0,)``, anomalies ``(A,)``."""

    z: Tensor
    edge_index: Tensor
    normals: Tensor
    anomalies: Tensor
    patterns: np.ndarray  # (A,) pattern of each anomaly


@dataclass
class TrainingLog:
    """Per-epoch loss, per-pattern difficulty, curriculum shares and synthetic counts."""

    loss: list[float] = field(default_factory=list)
    difficulty: list[list[float]] = field(default_factory=list)
    weights: list[list[float]] = field(default_factory=list)
    synthetic: list[list[int]] = field(default_factory=list)


def _pick(pool: Tensor, k: int, generator: torch.Generator) -> Tensor:
    return pool[torch.randint(len(pool), (k,), generator=generator)]


def _epoch_difficulty(gnn: EgoGNN, data: LabelledGraph, n_patterns: int) -> np.ndarray:
    gnn.eval()
    with torch.no_grad():
        logits = gnn(data.z, data.edge_index)
    gnn.train()
    return pattern_difficulty(logits[data.anomalies].numpy(), data.patterns, logits[data.normals].numpy(), n_patterns)


def train_gnn(gnn: EgoGNN, data: LabelledGraph, cfg: EgoDiffusionConfig, scheduler: CurriculumScheduler,
              augmenter: Augmenter | None, generator: torch.Generator, rng: np.random.Generator,
              show_progress: bool = False) -> TrainingLog:
    """Train ``gnn`` in place; the curriculum reallocates the synthetic budget after every epoch."""
    from services.core.progress import progress

    optimiser = torch.optim.AdamW(gnn.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log, half = TrainingLog(), cfg.batch_size // 2
    gnn.train()
    for epoch in progress(cfg.epochs, "ego-GNN training", "epoch", enabled=show_progress):
        synthetic: list[tuple[Tensor, Tensor, int]] = []
        counts = np.zeros(scheduler.n_patterns, dtype=np.int64)
        if augmenter is not None and epoch >= cfg.warmup_epochs and cfg.synthetic_per_epoch:
            counts = scheduler.allocate(cfg.synthetic_per_epoch)
            synthetic = augmenter.sample(counts, generator, rng)
        n_syn = round(half * cfg.synthetic_share) if synthetic else 0
        losses = []
        for _ in range(cfg.steps_per_epoch):
            normals = _pick(data.normals, half, generator)
            reals = _pick(data.anomalies, half - n_syn, generator)
            batch: EgoBatch = khop_batch(torch.cat([normals, reals]), cfg.hops, data.z, data.edge_index)
            labels = torch.cat([torch.zeros(half), torch.ones(half - n_syn)])
            if n_syn:
                chosen = torch.randint(len(synthetic), (n_syn,), generator=generator).tolist()
                batch = merge(batch, union_of_small_graphs([synthetic[i][:2] for i in chosen]))
                labels = torch.cat([labels, torch.ones(n_syn)])
            logits = gnn(batch.z, batch.edge_index)[batch.centers]
            loss = F.binary_cross_entropy_with_logits(logits, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        difficulty = _epoch_difficulty(gnn, data, scheduler.n_patterns)
        scheduler.update(difficulty)
        log.loss.append(float(np.mean(losses)))
        log.difficulty.append([round(float(v), 4) for v in difficulty])
        log.weights.append([round(float(v), 4) for v in scheduler.weights])
        log.synthetic.append(counts.tolist())
    gnn.eval()
    return log
