"""The fit pipeline: anomaly patterns → ego-graph diffusion on known anomalies → curriculum-augmented GNN."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.graph.batch import GraphBatch
from services.graph.detectors.ego_diffusion.augment import Augmenter, ego_dataset, train_diffusion
from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
from services.graph.detectors.ego_diffusion.curriculum import CurriculumScheduler, assign_patterns
from services.graph.detectors.ego_diffusion.ego import CSR
from services.graph.detectors.ego_diffusion.features import Binning, neighbour_mean
from services.graph.detectors.ego_diffusion.gnn import EgoGNN
from services.graph.detectors.ego_diffusion.training import LabelledGraph, train_gnn

__all__ = ["fit_model"]


def _augmenter(cfg: EgoDiffusionConfig, z: Tensor, data: GraphBatch, anomalies: np.ndarray, patterns: np.ndarray,
               n_patterns: int, generator: torch.Generator, rng: np.random.Generator
               ) -> tuple[Augmenter, dict[str, np.ndarray], dict[str, Any]]:
    binning = Binning.fit(z, cfg.n_bins)
    csr = CSR.from_edges(data.edge_index, data.num_nodes)
    egos = ego_dataset(csr, z, anomalies, patterns, binning, cfg, rng)
    diffusion, losses = train_diffusion(egos, n_patterns, cfg, generator)
    node_counts = egos.mask.sum(1).numpy()
    sizes = [node_counts[egos.pattern.numpy() == p] for p in range(n_patterns)]
    state = {f"diffusion.denoiser.{k}": v.detach().numpy().copy() for k, v in diffusion.denoiser.state_dict().items()}
    state.update({"diffusion.edge_marginal": diffusion.edge_marginal.numpy(),
                  "diffusion.attr_marginal": diffusion.attr_marginal.numpy(), "binning.edges": binning.edges.numpy()})
    tail = losses[-20:]
    summary = {"diffusion_ego_graphs": len(egos), "diffusion_final_loss": round(float(np.mean(tail)), 4),
               "ego_graph_mean_nodes": round(float(node_counts.mean()), 2)}
    return Augmenter(diffusion, binning, sizes), state, summary


def fit_model(cfg: EgoDiffusionConfig, z: Tensor, data: GraphBatch, targets: np.ndarray, labels: np.ndarray
              ) -> tuple[EgoGNN, dict[str, np.ndarray], dict[str, Any]]:
    """Train on standardised inputs ``z`` ``(N, D)``; ``labels`` ``(K,)`` belong to ``targets`` ``(K,)``."""
    rng = np.random.default_rng(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    edges = torch.from_numpy(data.edge_index)
    anomalies, normals = targets[labels > 0], targets[labels == 0]
    descriptors = torch.cat([z, neighbour_mean(z, edges)], dim=1)[torch.from_numpy(anomalies)].numpy()
    patterns = assign_patterns(labels[labels > 0], descriptors, cfg.n_patterns, cfg.seed)
    n_patterns = int(patterns.max()) + 1
    state: dict[str, np.ndarray] = {}
    summary: dict[str, Any] = {"patterns": n_patterns,
                               "pattern_sizes": np.bincount(patterns, minlength=n_patterns).tolist()}
    augmenter = None
    if cfg.use_diffusion:
        augmenter, state, diffusion_summary = _augmenter(cfg, z, data, anomalies, patterns, n_patterns,
                                                         generator, rng)
        summary.update(diffusion_summary)
    gnn = EgoGNN(z.shape[1], cfg.hidden, cfg.hops, cfg.dropout)
    scheduler = CurriculumScheduler(n_patterns, cfg.curriculum == "adaptive", cfg.curriculum_temperature,
                                    cfg.curriculum_momentum, cfg.curriculum_floor)
    graph = LabelledGraph(z, edges, torch.from_numpy(normals), torch.from_numpy(anomalies), patterns)
    log = train_gnn(gnn, graph, cfg, scheduler, augmenter, generator, rng, cfg.show_progress)
    state["curriculum.weights"] = np.asarray(scheduler.history, dtype=np.float32)
    summary.update({"final_loss": round(log.loss[-1], 4), "final_difficulty": log.difficulty[-1],
                    "curriculum_weights": log.weights[-1], "synthetic_total": int(np.sum(log.synthetic))})
    return gnn, state, summary
