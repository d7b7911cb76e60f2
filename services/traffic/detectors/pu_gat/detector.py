"""PU-GAT+ forecaster with CRFN-BY scoring, as a ``traffic`` detector plugin.

Fit: the leading part of the normal recording trains the forecaster; the trailing ``holdout_fraction`` (never
trained on) gives the interval calibration scores and trains the residual flow. Score: one ``(T * N,)`` score per
(time step, sensor) cell, time-major. Missing sensors carry their last reading forward (the training mean at the
start) and get the lowest score (p-value 1: never flagged).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from services.core.contract import Detector, DetectorConfig, InputSpec, StreamState
from services.core.errors import InvalidInputError
from services.traffic.batch import SensorBatch, validate_batch
from services.traffic.detectors.pu_gat.conformal import aci_update, conformal_quantile
from services.traffic.detectors.pu_gat.scoring import Z_CLIP, TrafficEvidence, neighbour_mean, propagation
from services.traffic.sim.graph import FEATURES

__all__ = ["PUGATDetector"]

LOWEST = float(np.finfo(np.float32).min)


class PUGATConfig(DetectorConfig):
    """PU-GAT+ / CRFN settings."""

    lags: int = Field(6, ge=1, le=64, description="Snapshots of history per forecast.")
    hidden: int = Field(32, ge=4, le=512)
    embed: int = Field(8, ge=1, le=64, description="Learned per-sensor embedding size.")
    train_steps: int = Field(600, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0)
    holdout_fraction: float = Field(0.25, gt=0.05, lt=0.9, description="Trailing share for calibration/flow.")
    score: Literal["flow", "chi2"] = Field("flow", description="Residual flow NLL, or mean squared residual.")
    flow_steps: int = Field(400, ge=1)
    flow_hidden: int = Field(32, ge=4)
    flow_layers: int = Field(4, ge=2, le=12)
    use_graph: bool = Field(True, description="False: each sensor attends only to itself (non-graph ablation).")
    uncertainty_attention: bool = Field(True, description="Penalize attention to uncertain neighbours.")
    level_window: int = Field(3, ge=1, le=64, description="Snapshots averaged for the level deviation.")
    aci_rate: float = Field(0.01, ge=0.0, lt=1.0, description="Adaptive-conformal step γ in streams (0: split).")
    max_calibration: int = Field(20000, ge=10)
    sensors: list[str] = Field(default_factory=list, description="Sensor ids in column order (empty: s0, s1…).")
    features: list[str] = Field(default_factory=lambda: list(FEATURES), description="Reading names per sensor.")


class PUGATDetector(Detector[SensorBatch]):
    """STREAM-RL detection: PU-GAT+ forecasts, conformal intervals, residual-flow cell scores."""

    name = "pu_gat"
    modality = "traffic"
    Config = PUGATConfig
    config: PUGATConfig

    # -- plumbing ---------------------------------------------------------------------------------------------
    def input_spec(self) -> InputSpec:
        n = self.mean_.shape[0] if self.fitted_ else -1
        return InputSpec(dtype="float32", shape=[-1, n, len(self.config.features)],
                         description="sensor snapshots [T, N, F] (features: " + ", ".join(self.config.features)
                                     + "); one score per (time, sensor) cell, time-major")

    def validate_input(self, batch: SensorBatch) -> SensorBatch:
        if not isinstance(batch, SensorBatch):
            raise InvalidInputError(f"expected a SensorBatch, got {type(batch).__name__}", "readings")
        n = self.mean_.shape[0] if self.fitted_ else None
        return validate_batch(batch, n, len(self.config.features))

    def _modules(self, n: int, f: int):  # type: ignore[no-untyped-def]
        import torch

        from services.traffic.detectors.pu_gat.flow import ResidualFlow
        from services.traffic.detectors.pu_gat.model import PUGATPlus

        torch.manual_seed(self.config.seed)
        c = self.config
        return PUGATPlus(n, f, c.lags, c.hidden, c.embed), ResidualFlow(3 * f, c.flow_hidden, c.flow_layers)

    def _graph(self, adjacency: np.ndarray) -> None:
        n = adjacency.shape[0]
        self.adjacency_ = adjacency.astype(bool)
        sym = (self.adjacency_ | self.adjacency_.T) & ~np.eye(n, dtype=bool)
        degree = sym.sum(1, keepdims=True)
        self.neighbour_weights_ = np.where(degree > 0, sym / np.maximum(degree, 1), 0.0)
        self.mask_ = (sym if self.config.use_graph else np.zeros_like(sym)) | np.eye(n, dtype=bool)

    # -- forecasting ------------------------------------------------------------------------------------------
    def _impute(self, readings: np.ndarray, missing: np.ndarray | None, last: np.ndarray) -> np.ndarray:
        """Carry each missing sensor's last reading forward; ``last`` ``(N, F)`` is the reading before."""
        if missing is None or not missing.any():
            return readings
        out = readings.copy()
        for t in range(out.shape[0]):
            out[t] = np.where(missing[t][:, None], last, out[t])
            last = out[t]
        return out

    def _histories(self, sequence: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Normalized windows ``(B, L, N, F)`` ending before each index of ``starts`` (front-padded)."""
        lags = self.config.lags
        index = np.clip(starts[:, None] - lags + np.arange(lags)[None], 0, None)
        return ((sequence[index] - self.mean_) / self.std_).astype(np.float32)

    def _forecast(self, histories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, scale) ``(B, N, F)`` in normalized units."""
        import torch

        with torch.no_grad():
            out = self.model_(torch.from_numpy(histories), torch.from_numpy(self.mask_))
        return out["mean"].numpy().astype(np.float64), np.exp(out["log_scale"].numpy().astype(np.float64))

    def _residuals(self, batch: SensorBatch, history: np.ndarray | None) -> dict[str, np.ndarray]:
        """Forecasts and normalized residuals of every cell; ``history`` ``(C, N, F)`` raw readings before."""
        context = history if history is not None else batch.context
        last = context[-1] if context is not None and len(context) else self.raw_mean_
        readings = self._impute(batch.readings, batch.missing, last)
        sequence = readings if context is None else np.concatenate([context, readings])
        offset = 0 if context is None else len(context)
        mean, scale = self._forecast(self._histories(sequence, offset + np.arange(len(readings))))
        norm = (sequence - self.mean_) / self.std_
        z = np.clip((norm[offset:] - mean) / scale, -Z_CLIP, Z_CLIP)
        level = self._level(norm)[offset:]
        return {"mean": mean, "scale": scale, "z": z, "level": level, "readings": readings}

    def _level(self, norm: np.ndarray) -> np.ndarray:
        """Deviation from the normal level ``(T, N, F)``: normalized readings averaged over ``level_window``
        snapshots ending at each one (fewer at the start)."""
        w = self.config.level_window
        csum = np.concatenate([np.zeros((1, *norm.shape[1:])), np.cumsum(norm, axis=0)])
        ends = np.arange(1, len(norm) + 1)
        starts = np.maximum(ends - w, 0)
        return np.clip((csum[ends] - csum[starts]) / (ends - starts)[:, None, None], -Z_CLIP, Z_CLIP)

    def _flow_features(self, z: np.ndarray, level: np.ndarray) -> np.ndarray:
        """``[z, neighbours' mean z, level]`` ``(T, N, 3F)``: forecast residuals (sudden changes), the graph
        context of them (propagation), and the deviation from the sensor's normal level (sustained incidents)."""
        return np.concatenate([z, neighbour_mean(z, self.neighbour_weights_), level], axis=-1)

    def _cell_scores(self, z: np.ndarray, level: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
        """Scores ``(T, N)`` from forecast residuals and level deviations ``(T, N, F)`` (normalized)."""
        if self.config.score == "chi2":
            scores = ((z**2).mean(-1) + (level**2).mean(-1)) / 2
        else:
            import torch

            features = self._flow_features(z, level)
            with torch.no_grad():
                scores = self.flow_.nll(torch.from_numpy(features.reshape(-1, features.shape[-1]).astype(
                    np.float32))).numpy().reshape(z.shape[:2])
        if missing is not None:
            scores = np.where(missing, LOWEST, scores)
        return scores.astype(np.float32)

    def _intervals(self, mean: np.ndarray, scale: np.ndarray, alpha: np.ndarray | float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper) in reading units at miscoverage ``alpha``."""
        q = conformal_quantile(self.interval_scores_, alpha)
        centre = mean * self.std_ + self.mean_
        half = q * scale * self.std_
        return centre, centre - half, centre + half

    # -- fit --------------------------------------------------------------------------------------------------
    def _fit(self, data: SensorBatch) -> dict[str, Any]:
        import torch


        c = self.config
        readings = data.readings
        t, n, f = readings.shape
        if data.adjacency is None or np.shape(data.adjacency) != (n, n):
            raise InvalidInputError(f"fitting needs the road graph: adjacency of shape [{n}, {n}]", "adjacency")
        if c.sensors and len(c.sensors) != n:
            raise InvalidInputError(f"config lists {len(c.sensors)} sensors; the readings have {n}", "sensors")
        readings = self._impute(readings, data.missing, readings[0])
        split = round(t * (1.0 - c.holdout_fraction))
        if split <= c.lags + 1 or t - split < 2:
            raise InvalidInputError(f"readings has {t} snapshots; fitting needs more than "
                                    f"{int((c.lags + 2) / (1 - c.holdout_fraction)) + 2}", "readings")
        self._graph(np.asarray(data.adjacency))
        self.raw_mean_ = readings[:split].mean(0).astype(np.float64)
        std = readings[:split].std(0).astype(np.float64)
        self.mean_, self.std_ = self.raw_mean_, np.maximum(std, np.maximum(0.05 * std.mean(0), 1e-3))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small tensors: one thread is fastest, and spins nothing on shared cores
        try:
            return self._train(readings, data.breaks, split, n, f)
        finally:
            torch.set_num_threads(threads)

    def _train(self, readings: np.ndarray, breaks_: tuple[int, ...], split: int, n: int, f: int) -> dict[str, Any]:
        from services.traffic.detectors.pu_gat.training import train_flow, train_forecaster

        c = self.config
        t = len(readings)
        starts = np.arange(c.lags, t)
        breaks = np.asarray(breaks_, dtype=np.int64)
        if breaks.size:  # drop windows whose history crosses into another recording
            starts = starts[~np.any((breaks[None] > starts[:, None] - c.lags) & (breaks[None] <= starts[:, None]), 1)]
        train_idx, hold_idx = starts[starts < split], starts[starts >= split]
        self.model_, self.flow_ = self._modules(n, f)
        norm = ((readings - self.mean_) / self.std_).astype(np.float32)
        loss = train_forecaster(self.model_, norm, train_idx, self.mask_, c)
        hist = self._histories(readings, hold_idx)
        mean, scale = self._forecast(hist)
        z = np.clip((norm[hold_idx] - mean) / scale, -Z_CLIP, Z_CLIP)
        rng = np.random.default_rng(c.seed)
        scores = np.abs(z).transpose(2, 0, 1).reshape(f, -1)
        keep = rng.permutation(scores.shape[1])[: c.max_calibration]
        self.interval_scores_ = np.sort(scores[:, keep], axis=1)
        vectors = self._flow_features(z, self._level(norm)[hold_idx]).reshape(-1, 3 * f)
        flow_loss = train_flow(self.flow_, vectors[rng.permutation(len(vectors))[: 4 * c.max_calibration]], c)
        rmse = float(np.sqrt(((norm[hold_idx] - mean) ** 2).mean()))
        persistence = float(np.sqrt(((norm[hold_idx] - norm[hold_idx - 1]) ** 2).mean()))
        self.metrics_ = {"holdout_rmse_normalized": rmse, "persistence_rmse_normalized": persistence}
        controller = getattr(self, "controller_meta_", None)
        return {**({"controller": controller} if controller else {}), "snapshots": int(t), "sensors": int(n),
                "features": list(c.features), "train_windows": int(train_idx.size),
                "holdout_windows": int(hold_idx.size), "forecaster_loss": loss, "flow_nll": flow_loss}

    # -- scoring ----------------------------------------------------------------------------------------------
    def _score(self, batch: SensorBatch) -> np.ndarray:
        res = self._residuals(batch, None)
        return self._cell_scores(res["z"], res["level"], batch.missing).reshape(-1)

    def score_and_explain(self, batch: SensorBatch) -> tuple[np.ndarray, TrafficEvidence]:
        self._check_fitted()
        batch = self.validate_input(batch)
        res = self._residuals(batch, None)
        scores = self._cell_scores(res["z"], res["level"], batch.missing).reshape(-1)
        return scores, self._evidence(res, batch, 1.0 - batch.coverage, None)

    def explain(self, batch: SensorBatch) -> TrafficEvidence:
        return self.score_and_explain(batch)[1]

    def _evidence(self, res: dict[str, np.ndarray], batch: SensorBatch, alpha: np.ndarray | float,
                  previous: np.ndarray | None) -> TrafficEvidence:
        centre, lower, upper = self._intervals(res["mean"], res["scale"], alpha)
        observed = np.ones(res["z"].shape[:2], bool) if batch.missing is None else ~batch.missing
        inside = (batch.readings >= lower) & (batch.readings <= upper)
        coverage = (inside & observed[..., None]).sum((0, 1)) / max(int(observed.sum()), 1)
        prop = propagation(res["z"], self.adjacency_.astype(np.float64), previous)
        return TrafficEvidence(centre.astype(np.float32), lower.astype(np.float32), upper.astype(np.float32),
                               res["z"].astype(np.float32), prop.astype(np.float32), coverage.astype(np.float64))

    # -- streaming --------------------------------------------------------------------------------------------
    def initial_stream_state(self) -> StreamState:
        n, f = self.mean_.shape
        return {"history": np.zeros((0, n, f), np.float32), "alpha": np.full((n, f), np.nan),
                "covered": np.zeros(f), "seen": np.zeros(f), "excess": np.zeros(n)}

    def stream_step(self, points: SensorBatch, state: StreamState, adapt: bool) -> tuple[np.ndarray, StreamState]:
        """Score new snapshots given the stream's history; intervals use (and, with ``adapt``, update) per-cell
        adaptive-conformal levels. Outputs for the new snapshots travel in the state under ``out.*``."""
        self._check_fitted()
        points = self.validate_input(points)
        state = {k: v for k, v in (state or self.initial_stream_state()).items() if not k.startswith("out.")}
        history = state["history"] if len(state["history"]) else None
        res = self._residuals(points, history)
        scores = self._cell_scores(res["z"], res["level"], points.missing)
        target = 1.0 - points.coverage
        alpha = np.where(np.isnan(state["alpha"]), target, state["alpha"])  # NaN: level not set yet
        lower_all, upper_all, mean_all = [], [], []
        observed = np.ones(scores.shape, bool) if points.missing is None else ~points.missing
        for t in range(len(points.readings)):
            centre, lower, upper = self._intervals(res["mean"][t], res["scale"][t], alpha if adapt else target)
            miss = (points.readings[t] < lower) | (points.readings[t] > upper)
            state["covered"] = state["covered"] + (~miss & observed[t][:, None]).sum(0)
            state["seen"] = state["seen"] + observed[t].sum()
            if adapt and self.config.aci_rate > 0:
                alpha = aci_update(alpha, miss, target, self.config.aci_rate, observed[t])
            mean_all.append(centre), lower_all.append(lower), upper_all.append(upper)
        prop = propagation(res["z"], self.adjacency_.astype(np.float64), state["excess"])
        rms = np.sqrt((res["z"][-1] ** 2).mean(-1))
        state.update({"history": res["readings"][-self.config.lags:].astype(np.float32) if history is None else
                      np.concatenate([history, res["readings"]])[-self.config.lags:].astype(np.float32),
                      "alpha": alpha, "excess": np.maximum(0.0, rms - 2.0),
                      "out.mean": np.stack(mean_all).astype(np.float32),
                      "out.lower": np.stack(lower_all).astype(np.float32),
                      "out.upper": np.stack(upper_all).astype(np.float32),
                      "out.propagation": prop.astype(np.float32), "out.z": res["z"].astype(np.float32)})
        return scores.reshape(-1), state

    def attach_controller(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Keep a LyCon-WRL+ controller (arrays + JSON description) in this model version (call before fit)."""
        self.controller_state_, self.controller_meta_ = dict(state), dict(meta)

    # -- persistence ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"model.{k}": v.numpy() for k, v in self.model_.state_dict().items()}
        state.update({f"flow.{k}": v.numpy() for k, v in self.flow_.state_dict().items()})
        state.update({"norm.mean": self.mean_, "norm.std": self.std_, "norm.raw_mean": self.raw_mean_,
                      "graph.adjacency": self.adjacency_.astype(np.uint8), "conformal.scores": self.interval_scores_})
        state.update({f"controller.{k}": v for k, v in getattr(self, "controller_state_", {}).items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        import torch

        self.mean_, self.std_, self.raw_mean_ = state["norm.mean"], state["norm.std"], state["norm.raw_mean"]
        self._graph(state["graph.adjacency"].astype(bool))
        self.interval_scores_ = state["conformal.scores"]
        n, f = self.mean_.shape
        self.model_, self.flow_ = self._modules(n, f)
        for prefix, module in (("model.", self.model_), ("flow.", self.flow_)):
            module.load_state_dict({k[len(prefix):]: torch.from_numpy(np.ascontiguousarray(v))
                                    for k, v in state.items() if k.startswith(prefix)})
            module.eval()
        self.controller_state_ = {k[len("controller."):]: v for k, v in state.items() if k.startswith("controller.")}
