"""Ego-graph diffusion with curriculum anomaly augmentation: the detector glue (fit, score, explain, persist)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from services.core.contract import Detector, InputSpec
from services.core.errors import InvalidInputError
from services.graph.batch import GraphBatch, window_start
from services.graph.detectors.ego_diffusion.config import EgoDiffusionConfig
from services.graph.detectors.ego_diffusion.explain import NodeEvidence, occlusion_evidence
from services.graph.detectors.ego_diffusion.features import node_inputs
from services.graph.detectors.ego_diffusion.gnn import EgoGNN
from services.graph.detectors.ego_diffusion.temporal import temporal_channels
from services.graph.neighbour_groups import neighbour_groups
from services.graph.validation import validate_graph

if TYPE_CHECKING:
    from services.core.calibration import ConformalCalibrator

__all__ = ["EgoDiffusionDetector"]


class EgoDiffusionDetector(Detector[GraphBatch]):
    """Inductive GraphSAGE over k-hop ego-graphs, trained on labelled anomalies plus diffusion-generated
    anomalous ego-graphs whose per-pattern share follows a curriculum; scores unseen nodes and graphs."""

    name = "ego_diffusion"
    modality = "graph"
    Config = EgoDiffusionConfig
    config: EgoDiffusionConfig

    def __init__(self, config: EgoDiffusionConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.gnn_: EgoGNN | None = None
        self.extra_state_: dict[str, np.ndarray] = {}

    # -- inputs ---------------------------------------------------------------------------
    @property
    def n_features(self) -> int | None:
        """F of the fitted model (None before fit)."""
        return int(self.x_mean_.shape[0]) if self.fitted_ else None

    def input_spec(self) -> InputSpec:
        return InputSpec(dtype="float32", shape=[-1, self.n_features or -1],
                         description="graph: node features (N, F) float32 + edge_index (2, E) int64, optional "
                                     "edge times and target nodes; undirected, self-loops and duplicates dropped")

    def validate_input(self, batch: GraphBatch) -> GraphBatch:
        cfg = self.config
        batch = validate_graph(batch, self.n_features, cfg.max_nodes, cfg.max_edges, cfg.time_window)
        if cfg.temporal and batch.history_index is None:
            raise InvalidInputError(
                f"this model is temporal: send the edges of the previous window too, with edge_time (edges older "
                f"than time_window={cfg.time_window} before the latest time are the history)", "edge_time")
        return batch

    def _raw_inputs(self, batch: GraphBatch) -> Tensor:
        """Unstandardised inputs ``(N, 2F + 1)``, plus ``TEMPORAL_CHANNELS`` columns for a temporal model."""
        raw = node_inputs(torch.from_numpy(batch.x), torch.from_numpy(batch.edge_index), self.x_mean_, self.x_std_)
        if not self.config.temporal:
            return raw
        window = float(self.config.time_window)
        if batch.edge_time is not None and batch.num_edges:
            start = window_start(batch.edge_index, batch.edge_time, batch.snapshot, batch.num_nodes, window)
        else:  # no current timed edges: the history ends where the current window starts
            start = np.full(batch.num_nodes, batch.history_time.max(initial=0.0))
        time = temporal_channels(batch.edge_index, start, batch.history_index, batch.history_time, window)
        return torch.cat([raw, time], dim=1)

    def _inputs(self, batch: GraphBatch) -> tuple[Tensor, Tensor]:
        """Standardised inputs ``(N, D)`` and edges ``(2, E)`` of a validated batch."""
        return (self._raw_inputs(batch) - self.z_mean_) / self.z_std_, torch.from_numpy(batch.edge_index)

    # -- fit ------------------------------------------------------------------------------
    def fit(self, data: GraphBatch) -> EgoDiffusionDetector:
        """Fit on a labelled graph (or snapshots packed with :func:`services.graph.batch.union`)."""
        self.fitted_ = False  # a refit may change the feature width
        super().fit(data)
        return self

    def _fit(self, data: GraphBatch) -> dict[str, Any]:
        from services.graph.detectors.ego_diffusion.fitting import fit_model

        if data.y is None:
            raise InvalidInputError("fit needs node labels (0 normal, > 0 anomalous)", "labels")
        targets = data.target_nodes
        labels = data.y[targets]
        if not (labels > 0).any() or not (labels == 0).any():
            raise InvalidInputError("fit needs both labelled anomalies (label > 0) and normal nodes (label 0)",
                                    "labels")
        # standardisation statistics from the fitted (target) nodes only: held-out nodes stay unseen
        x = torch.from_numpy(data.x)
        fitted = torch.from_numpy(targets)
        self.x_mean_, self.x_std_ = x[fitted].mean(0), x[fitted].std(0).clamp_min(1e-6)
        raw = self._raw_inputs(data)
        self.z_mean_, self.z_std_ = raw[fitted].mean(0), raw[fitted].std(0).clamp_min(1e-6)
        z, _ = self._inputs(data)
        threads = torch.get_num_threads()
        torch.set_num_threads(self.config.fit_threads)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.config.seed)
                self.gnn_, self.extra_state_, summary = fit_model(self.config, z, data, targets, labels)
        finally:
            torch.set_num_threads(threads)
        return {"nodes": data.num_nodes, "edges": data.num_edges // 2, "features": int(x.shape[1]),
                "labelled_normal": int((labels == 0).sum()), "labelled_anomalous": int((labels > 0).sum()),
                **summary}

    # -- score ----------------------------------------------------------------------------
    @torch.no_grad()
    def _logits(self, batch: GraphBatch) -> tuple[Tensor, Tensor, Tensor]:
        z, edges = self._inputs(batch)
        return self.gnn_(z, edges), z, edges

    def _score(self, batch: GraphBatch) -> np.ndarray:
        logits, _, _ = self._logits(batch)
        return logits[torch.from_numpy(batch.target_nodes)].numpy().astype(np.float32)

    def calibration_groups(self, calibration: GraphBatch, scores: np.ndarray, pooled: ConformalCalibrator
                           ) -> np.ndarray | None:
        """Neighbour-aware Mondrian groups ``(K,)`` of the calibration targets (``services.graph.neighbour_groups``):
        every node of the calibration graph is scored so that each target's neighbours are known."""
        alpha = self.config.neighbour_group_alpha
        if alpha <= 0:
            return None
        everyone = self.score(replace(calibration, targets=None, explain_top_k=0))
        return neighbour_groups(calibration.edge_index, everyone, pooled, alpha)[calibration.target_nodes]

    def score_and_explain(self, batch: GraphBatch) -> tuple[np.ndarray, NodeEvidence]:
        """Target scores ``(K,)`` and occlusion evidence for the ``explain_top_k`` highest-scored targets."""
        self._check_fitted()
        batch = self.validate_input(batch)
        logits, z, edges = self._logits(batch)
        targets = batch.target_nodes
        scores = logits[torch.from_numpy(targets)].numpy().astype(np.float32)
        top = targets[np.argsort(-scores, kind="stable")[: max(batch.explain_top_k, 0)]]
        cfg = self.config
        evidence = occlusion_evidence(self.gnn_, z, edges, top, cfg.hops, cfg.explain_candidates,
                                      cfg.explain_neighbours)
        return scores, evidence

    def explain(self, batch: GraphBatch) -> NodeEvidence:
        """Top influential neighbours of the highest-scored targets."""
        return self.score_and_explain(batch)[1]

    # -- persistence ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"gnn.{k}": v.detach().numpy().copy() for k, v in self.gnn_.state_dict().items()}
        for key in ("x_mean_", "x_std_", "z_mean_", "z_std_"):
            state[key.rstrip("_")] = getattr(self, key).numpy().copy()
        return {**state, **self.extra_state_}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for key in ("x_mean", "x_std", "z_mean", "z_std"):
            setattr(self, f"{key}_", torch.from_numpy(state[key].copy()))
        cfg = self.config
        self.gnn_ = EgoGNN(self.z_mean_.shape[0], cfg.hidden, cfg.hops, cfg.dropout)
        weights = {k[4:]: torch.from_numpy(v.copy()) for k, v in state.items() if k.startswith("gnn.")}
        self.gnn_.load_state_dict(weights)
        self.gnn_.eval()
        extra = ("diffusion", "binning", "curriculum")
        self.extra_state_ = {k: v for k, v in state.items() if k.split(".")[0] in extra}
