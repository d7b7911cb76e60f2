"""The fitted HeteroComp model as plain arrays: encoders, components, temporal prior and calibration."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.detectors.heterocomp.config import HeteroCompConfig
from services.tensorstream.detectors.heterocomp.encoding import CategoricalCodec, ContinuousGrid
from services.tensorstream.detectors.heterocomp.gp_density import gp_precision
from services.tensorstream.detectors.heterocomp.scoring import Calibration
from services.tensorstream.detectors.heterocomp.streaming import EncodedEvents, StreamParams
from services.tensorstream.detectors.heterocomp.temporal import StateSpaceGP

__all__ = ["HeteroCompModel", "temporal_prior"]


def temporal_prior(config: HeteroCompConfig) -> StateSpaceGP | None:
    """The state-space GP of the config (time in windows), or None for the static ablation."""
    if not config.use_temporal_gp:
        return None
    period = config.period_seconds / config.window_seconds if config.period_seconds else None
    return StateSpaceGP(config.matern_lengthscale, config.matern_variance, period, config.harmonics,
                        config.periodic_variance, config.periodic_decay_periods * (period or 1.0),
                        config.trend_drift)


@dataclass
class HeteroCompModel:
    """Everything learned; ``kf_*`` is the temporal prior of window ``kf_window`` where streams start."""

    schema: EventSchema
    codecs: list[CategoricalCodec]
    grids: list[ContinuousGrid]
    cat_counts: list[np.ndarray]
    cont_counts: list[np.ndarray]
    cat_logp: list[np.ndarray]
    cont_logp: list[np.ndarray]
    static_log_rate: np.ndarray
    kf_mean: np.ndarray
    kf_cov: np.ndarray
    kf_window: int
    calib: Calibration

    def encode(self, batch: EventBatch) -> EncodedEvents:
        """Codes, bins and density offsets of a validated batch."""
        n = len(batch)
        codes = np.empty((n, len(self.codecs)), dtype=np.int64)
        for a, codec in enumerate(self.codecs):
            codes[:, a] = codec.encode(batch.categorical[:, a])
        bins = np.empty((n, len(self.grids)), dtype=np.int64)
        offsets = np.zeros(n)
        for j, grid in enumerate(self.grids):
            bins[:, j], off = grid.encode(batch.continuous[:, j])
            offsets += off
        return EncodedEvents(batch.times, codes, bins, offsets)

    def params(self, config: HeteroCompConfig, calib: Calibration | None = None) -> StreamParams:
        """The stream loop's view of the model."""
        return StreamParams(
            gp=temporal_prior(config), static_log_rate=self.static_log_rate, cat_logp=self.cat_logp,
            cont_logp=self.cont_logp, cat_counts=self.cat_counts, cont_counts=self.cont_counts,
            calib=calib or self.calib, window_seconds=config.window_seconds, robust_z=config.robust_z,
            max_gap=config.max_gap_windows, use_group=config.use_group_score, alpha=config.dirichlet_alpha,
            precision=gp_precision(config.n_bins, config.density_lengthscale, config.density_variance),
            forgetting=config.forgetting, adapt_max_group=config.adapt_max_group, refit_every=config.refit_every)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Named arrays (the schema and vocabularies as UTF-8 JSON bytes)."""
        state = {"schema": np.frombuffer(self.schema.model_dump_json().encode(), dtype=np.uint8).copy(),
                 "static_log_rate": self.static_log_rate, "kf_mean": self.kf_mean, "kf_cov": self.kf_cov,
                 "kf_window": np.array([self.kf_window], dtype=np.int64), "calib": self.calib.to_array(),
                 "hash_buckets": np.array([c.n_buckets for c in self.codecs] or [0], dtype=np.int64)}
        for a, codec in enumerate(self.codecs):
            state[f"vocab.{a}"] = codec.to_array()
            state[f"cat_counts.{a}"] = self.cat_counts[a]
            state[f"cat_logp.{a}"] = self.cat_logp[a]
        for j, grid in enumerate(self.grids):
            state[f"grid.{j}"] = grid.to_array()
            state[f"cont_counts.{j}"] = self.cont_counts[j]
            state[f"cont_logp.{j}"] = self.cont_logp[j]
        return {k: np.ascontiguousarray(v) for k, v in state.items()}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> HeteroCompModel:
        """Inverse of :meth:`state_dict`."""
        schema = EventSchema.model_validate(json.loads(bytes(state["schema"]).decode()))
        n_cat, n_cont = len(schema.categorical), len(schema.continuous)
        buckets = state["hash_buckets"]
        return cls(
            schema=schema,
            codecs=[CategoricalCodec.from_array(state[f"vocab.{a}"], int(buckets[a])) for a in range(n_cat)],
            grids=[ContinuousGrid.from_array(state[f"grid.{j}"]) for j in range(n_cont)],
            cat_counts=[state[f"cat_counts.{a}"].copy() for a in range(n_cat)],
            cont_counts=[state[f"cont_counts.{j}"].copy() for j in range(n_cont)],
            cat_logp=[state[f"cat_logp.{a}"].copy() for a in range(n_cat)],
            cont_logp=[state[f"cont_logp.{j}"].copy() for j in range(n_cont)],
            static_log_rate=state["static_log_rate"].copy(), kf_mean=state["kf_mean"].copy(),
            kf_cov=state["kf_cov"].copy(), kf_window=int(state["kf_window"][0]),
            calib=Calibration.from_array(state["calib"]))
