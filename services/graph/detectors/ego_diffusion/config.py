"""Configuration of the ego-graph diffusion detector (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.core.contract import DetectorConfig

__all__ = ["EgoDiffusionConfig"]


class EgoDiffusionConfig(DetectorConfig):
    """Hyper-parameters of :class:`~services.graph.detectors.ego_diffusion.EgoDiffusionDetector`."""

    # inductive GNN
    hops: int = Field(2, ge=1, le=4, description="GraphSAGE layers = radius of each node's ego-graph.")
    hidden: int = Field(64, ge=4, description="Width of the GNN layers.")
    epochs: int = Field(30, ge=1, description="Training epochs of the GNN (curriculum updates once per epoch).")
    steps_per_epoch: int = Field(16, ge=1, description="Mini-batches of ego-graphs per epoch.")
    batch_size: int = Field(128, ge=8, description="Ego-graphs per mini-batch: half normal, half anomalous.")
    lr: float = Field(3e-3, gt=0, description="Adam learning rate of the GNN.")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay of the GNN.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout between GNN layers.")
    # diffusion augmentation
    use_diffusion: bool = Field(True, description="Train the ego-graph diffusion model and add synthetic anomalies.")
    synthetic_per_epoch: int = Field(96, ge=0, description="Synthetic anomalous ego-graphs sampled each epoch.")
    synthetic_share: float = Field(0.5, ge=0, le=1, description="Share of a batch's anomalous half that is synthetic.")
    ego_max_nodes: int = Field(20, ge=3, le=64, description="Nodes of a diffusion ego-graph (center included).")
    n_bins: int = Field(8, ge=2, le=32, description="Quantile bins of each node attribute in the diffusion model.")
    diffusion_steps: int = Field(32, ge=2, description="Noise levels T of the discrete diffusion.")
    diffusion_train_steps: int = Field(400, ge=1, description="Adam steps of denoiser training.")
    diffusion_hidden: int = Field(64, ge=8, description="Width of the denoiser.")
    diffusion_layers: int = Field(3, ge=1, description="Attention + message-passing blocks of the denoiser.")
    diffusion_batch: int = Field(32, ge=2, description="Ego-graphs per denoiser training step.")
    diffusion_lr: float = Field(2e-3, gt=0, description="Adam learning rate of the denoiser.")
    # curriculum
    curriculum: Literal["adaptive", "uniform"] = Field(
        "adaptive", description="adaptive: more synthetic samples of the worst-scored patterns; uniform: equal shares."
    )
    n_patterns: int = Field(3, ge=1, le=16, description="Anomaly patterns found by k-means when labels carry no types.")
    curriculum_temperature: float = Field(0.1, gt=0, description="Softmax temperature over per-pattern difficulty.")
    curriculum_momentum: float = Field(0.5, ge=0, lt=1, description="EMA momentum of the pattern weights.")
    curriculum_floor: float = Field(0.05, ge=0, lt=0.5, description="Least share of any pattern.")
    warmup_epochs: int = Field(2, ge=0, description="Epochs on real data only before synthetic anomalies join.")
    fit_threads: int = Field(1, ge=1, description="torch intra-op threads while fitting (small batches gain nothing).")
    # serving
    explain_neighbours: int = Field(5, ge=1, le=64, description="Influential neighbours reported per explained node.")
    explain_candidates: int = Field(48, ge=1, description="Most 1-hop neighbours occluded per explained node.")
    time_window: float | None = Field(
        None, gt=0, description="When edges carry times: the current window; older edges are the history."
    )
    temporal: bool = Field(
        False, description="Add temporal channels (time-decayed edge persistence, degree change against the "
                           "history window) to the node inputs; needs time_window and timed history edges."
    )
    neighbour_group_alpha: float = Field(
        0.05, ge=0, lt=1, description="Mondrian p-values: a node whose neighbour has a pooled p-value at or under "
                                      "this level is calibrated among such normals only (0 = one pooled calibration)."
    )
    max_nodes: int = Field(2_000_000, ge=1, description="Largest graph accepted (nodes).")
    max_edges: int = Field(20_000_000, ge=1, description="Largest graph accepted (edges as sent).")

    @model_validator(mode="after")
    def _temporal_needs_window(self) -> EgoDiffusionConfig:
        if self.temporal and self.time_window is None:
            raise ValueError("temporal=True needs time_window (the length of the current window)")
        return self
