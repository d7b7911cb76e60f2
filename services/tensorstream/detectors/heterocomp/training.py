"""Fit a :class:`HeteroCompModel` on a validated batch: encoders, EM, temporal prior, calibration pass."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.detectors.heterocomp.config import HeteroCompConfig
from services.tensorstream.detectors.heterocomp.encoding import CategoricalCodec, ContinuousGrid
from services.tensorstream.detectors.heterocomp.fitting import fit_components
from services.tensorstream.detectors.heterocomp.gp_density import gp_precision
from services.tensorstream.detectors.heterocomp.model import HeteroCompModel, temporal_prior
from services.tensorstream.detectors.heterocomp.scoring import Calibration, joint_term
from services.tensorstream.detectors.heterocomp.streaming import initial_state, run_stream

__all__ = ["fit_model"]


def _robust_scale(values: np.ndarray) -> tuple[float, float]:
    """Median and a scale (the 95th percentile's excess over the median / 1.645, at least 1e-2)."""
    if values.size == 0:
        return 0.0, 1.0
    median = float(np.median(values))
    return median, max((float(np.quantile(values, 0.95)) - median) / 1.645, 1e-2)


def fit_model(config: HeteroCompConfig, batch: EventBatch, schema: EventSchema) -> tuple[HeteroCompModel,
                                                                                         dict[str, Any]]:
    """The fitted model and a JSON-able training summary."""
    if len(batch) < 2:
        raise ValueError("fit needs at least two events")
    codecs = [CategoricalCodec.learn(batch.categorical[:, a], config.max_vocab, config.min_count,
                                     config.hash_buckets) for a in range(len(schema.categorical))]
    grids = [ContinuousGrid.learn(batch.continuous[:, j], config.n_bins) for j in range(len(schema.continuous))]
    k = config.n_components
    shell = HeteroCompModel(schema, codecs, grids, [], [], [], [], np.zeros(k), np.zeros((k, 1)),
                            np.zeros((k, 1, 1)), 0, Calibration())
    ev = shell.encode(batch)
    windows = np.floor(ev.times / config.window_seconds).astype(np.int64)
    first, last = int(windows.min()), int(windows.max())
    precision = gp_precision(config.n_bins, config.density_lengthscale, config.density_variance)
    em = fit_components(ev.codes, ev.bins, ev.offsets, windows - first, [c.size for c in codecs], config.n_bins,
                        precision, k, config.em_iters, config.dirichlet_alpha, config.window_concentration,
                        config.seed)
    n_windows = last - first + 1
    static = np.log(np.maximum(em.resp.sum(0) / n_windows, 1e-3))
    model = HeteroCompModel(schema, codecs, grids, em.cat_counts, em.cont_counts, em.cat_logp, em.cont_logp,
                            static, np.zeros((k, 1)), np.zeros((k, 1, 1)), first, Calibration())
    gp = temporal_prior(config)
    if gp is not None:
        model.kf_mean, model.kf_cov = gp.initial(k, static)
    # calibration pass: stream the training events once, without adaptation
    params = model.params(config, Calibration())
    state = initial_state(params, model.kf_mean, model.kf_cov, first)
    run = run_stream(params, state, ev, adapt=False, flush=True)
    rows = np.array(run.windows, dtype=np.float64).reshape(-1, 8)
    n_w = rows[:, 1]
    window_index = np.floor(ev.times / config.window_seconds).astype(np.int64)
    _, inverse = np.unique(window_index, return_inverse=True)
    mean_nll = np.bincount(inverse, weights=run.nll) / np.bincount(inverse)
    nll_var = float(run.nll.var())
    between = max(float(mean_nll.var()) - float(np.mean(nll_var / np.maximum(n_w, 1))), 0.0)
    calib = Calibration(float(run.nll.mean()), nll_var, between)
    joint = joint_term(mean_nll, n_w, calib) if mean_nll.size == n_w.size else np.zeros(0)
    stats = [_robust_scale(rows[:, 4]), _robust_scale(rows[:, 5]), _robust_scale(joint)]
    model.calib = Calibration(calib.nll_mean, calib.nll_var, calib.nll_between,
                              tuple(s[0] for s in stats), tuple(s[1] for s in stats))
    if gp is not None:
        a, q = gp.transition(1.0)
        model.kf_mean, model.kf_cov = gp.predict(state["kf_mean"], state["kf_cov"], a, q)
    model.kf_window = int(state["window"][0]) + 1
    summary = {"events": len(batch), "windows": int(n_windows), "schema": schema.model_dump(mode="json"),
               "vocabulary": {name: len(c.vocab) for name, c in zip(schema.categorical, codecs, strict=True)},
               "em_log_likelihood": [round(v, 4) for v in em.log_likelihood],
               "component_share": [round(float(v), 4) for v in em.resp.mean(0)],
               "train_event_nll_mean": round(calib.nll_mean, 4)}
    return model, summary
