"""Online inference over windows: per-event scores as events arrive, group scores as windows close.

The per-stream state is a dict of fixed-size named arrays (memory flat in the stream's length):
the Kalman prior of the current window, the window's accumulators and, once a stream adapts, its
own sufficient statistics. Events of one call that fall in one window are scored together, with
the window's counts so far (all of them in a batch call).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.tensorstream.detectors.heterocomp.gp_density import fit_log_density
from services.tensorstream.detectors.heterocomp.mixture import (
    categorical_logp,
    component_loglik,
    e_step,
    weighted_counts,
)
from services.tensorstream.detectors.heterocomp.scoring import Calibration, burst_llr, intensity_z, joint_term
from services.tensorstream.detectors.heterocomp.temporal import StateSpaceGP, count_observation

__all__ = ["EncodedEvents", "StreamParams", "StreamRun", "initial_state", "run_stream"]

NO_WINDOW = np.iinfo(np.int64).min


@dataclass
class EncodedEvents:
    """Encoded events: times (n,) float64, codes (n, A) int64, bins (n, C) int64, offsets (n,) float64."""

    times: np.ndarray
    codes: np.ndarray
    bins: np.ndarray
    offsets: np.ndarray


@dataclass
class StreamParams:
    """What the loop reads of a fitted model."""

    gp: StateSpaceGP | None  # None: static intensities (the ablation)
    static_log_rate: np.ndarray  # (K,)
    cat_logp: list[np.ndarray]
    cont_logp: list[np.ndarray]
    cat_counts: list[np.ndarray]
    cont_counts: list[np.ndarray]
    calib: Calibration
    window_seconds: float
    robust_z: float
    max_gap: int
    use_group: bool
    alpha: float
    precision: np.ndarray
    forgetting: float
    adapt_max_group: float
    refit_every: int
    _transitions: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Components K."""
        return int(self.static_log_rate.shape[0])

    def transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Cached ``A(dt), Q(dt)``."""
        if dt not in self._transitions:
            self._transitions[dt] = self.gp.transition(dt)
        return self._transitions[dt]


@dataclass
class StreamRun:
    """Outputs of one call: per-event scores / NLL / component and closed-window rows."""

    scores: np.ndarray
    nll: np.ndarray
    component: np.ndarray
    windows: list[tuple] = field(default_factory=list)
    attribute_nll: np.ndarray | None = None


def initial_state(params: StreamParams, mean: np.ndarray, cov: np.ndarray, window: int) -> dict[str, np.ndarray]:
    """A new stream whose Kalman prior ``(K, D)``, ``(K, D, D)`` belongs to ``window``."""
    k = params.k
    state = {"kf_mean": mean.copy(), "kf_cov": cov.copy(), "window": np.array([window], dtype=np.int64),
             "started": np.zeros(1, dtype=np.int64), "closed": np.zeros(1, dtype=np.int64),
             "last_time": np.array([-np.inf]),
             "acc_comp": np.zeros(k), "acc_evt": np.zeros(k), "acc_n": np.zeros(1), "acc_nll": np.zeros(1),
             "offset": np.zeros(1, dtype=np.int64)}
    for a, logp in enumerate(params.cat_logp):
        state[f"acc_cat.{a}"] = np.zeros(logp.shape[1])
    return state


def _predictive(params: StreamParams, state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if params.gp is None:
        return params.static_log_rate, np.zeros(params.k)
    return params.gp.predictive(state["kf_mean"], state["kf_cov"])


def _advance(params: StreamParams, state: dict[str, np.ndarray], steps: int, observed: bool) -> None:
    """Move ``steps`` windows ahead (from the last window's posterior when ``observed``, else from its prior);
    skipped windows are empty (``observed``) or unknown."""
    state["closed"][0] = 0
    if params.gp is None or steps == 0:
        state["window"][0] += steps
        return
    mean, cov = state["kf_mean"], state["kf_cov"]
    if observed and 0 < steps <= params.max_gap:
        a, q = params.transition(1.0)
        y, r = count_observation(np.zeros(params.k))
        mean, cov = params.gp.predict(mean, cov, a, q)
        for _ in range(steps - 1):
            mean, cov = params.gp.update(mean, cov, y, r)
            mean, cov = params.gp.predict(mean, cov, a, q)
    else:
        a, q = params.gp.transition(float(steps))
        mean, cov = params.gp.predict(mean, cov, a, q)
    state["kf_mean"], state["kf_cov"] = mean, cov
    state["window"][0] += steps


def _cat_logp(params: StreamParams, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [state.get(f"cat_logp.{a}", p) for a, p in enumerate(params.cat_logp)]


def _cont_logp(params: StreamParams, state: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [state.get(f"cont_logp.{j}", p) for j, p in enumerate(params.cont_logp)]


def _close(params: StreamParams, state: dict[str, np.ndarray], adapt: bool) -> tuple | None:
    """Score and learn from the current window; reset its accumulators. Returns its row (None when empty)."""
    n = float(state["acc_n"][0])
    counts = state["acc_comp"]
    mean, var = _predictive(params, state)
    z = intensity_z(counts, mean, var)
    row = None
    if n > 0:
        rate = np.exp(mean + 0.5 * var)
        burst = 0.0
        for a, logp in enumerate(_cat_logp(params, state)):
            acc = state[f"acc_cat.{a}"]
            present = np.flatnonzero(acc)
            expected = rate @ np.exp(logp[:, present])
            burst += float(burst_llr(acc[present] - 1.0, expected).max(initial=0.0))
        zpos = 0.5 * np.maximum(z, 0.0) ** 2
        terms = np.array([zpos.sum(), burst, float(joint_term(state["acc_nll"] / n, state["acc_n"],
                                                              params.calib)[0])])
        group = float(params.calib.standardise(terms).sum())
        component = int(np.argmax(zpos + state["acc_evt"]))
        row = (int(state["window"][0]), n, group, component, *terms, float(rate.sum()))
        if adapt and group <= params.adapt_max_group:
            _learn(params, state)
    if params.gp is not None:
        y, r = count_observation(counts)
        r = r * np.maximum(1.0, (np.abs(z) / params.robust_z) ** 2)
        state["kf_mean"], state["kf_cov"] = params.gp.update(state["kf_mean"], state["kf_cov"], y, r)
    for key in ("acc_comp", "acc_evt", "acc_n", "acc_nll"):
        state[key][:] = 0.0
    for a in range(len(params.cat_logp)):
        state[f"acc_cat.{a}"][:] = 0.0
    for key in state:
        if key.startswith("buf_"):
            state[key][:] = 0.0
    state["closed"][0] = 1
    return row


def _learn(params: StreamParams, state: dict[str, np.ndarray]) -> None:
    """Fold the window's buffered counts into the stream's statistics (forgetting the old)."""
    rho = params.forgetting
    for a in range(len(params.cat_logp)):
        counts = state[f"cat_counts.{a}"]
        counts *= rho
        counts += state[f"buf_cat.{a}"]
        state[f"cat_logp.{a}"] = categorical_logp(counts, params.alpha)
    for j in range(len(params.cont_logp)):
        counts = state[f"cont_counts.{j}"]
        counts *= rho
        counts += state[f"buf_cont.{j}"]
    state["since_refit"][0] += 1
    if state["since_refit"][0] >= params.refit_every:
        state["since_refit"][0] = 0
        for j in range(len(params.cont_logp)):
            state[f"cont_logp.{j}"] = fit_log_density(state[f"cont_counts.{j}"], params.precision,
                                                      init=state[f"cont_logp.{j}"], iters=3)


def _ensure_adaptive(params: StreamParams, state: dict[str, np.ndarray]) -> None:
    if "since_refit" in state:
        return
    for a, counts in enumerate(params.cat_counts):
        state[f"cat_counts.{a}"] = counts.copy()
        state[f"cat_logp.{a}"] = params.cat_logp[a].copy()
        state[f"buf_cat.{a}"] = np.zeros_like(counts)
    for j, counts in enumerate(params.cont_counts):
        state[f"cont_counts.{j}"] = counts.copy()
        state[f"cont_logp.{j}"] = params.cont_logp[j].copy()
        state[f"buf_cont.{j}"] = np.zeros_like(counts)
    state["since_refit"] = np.zeros(1, dtype=np.int64)


def _score_run(params: StreamParams, state: dict[str, np.ndarray], ev: EncodedEvents, idx: slice, adapt: bool,
               explain: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Scores of the events ``idx``, all in the current window; updates the window's accumulators."""
    codes, bins = ev.codes[idx], ev.bins[idx]
    mean, var = _predictive(params, state)
    log_rate = mean + 0.5 * var
    log_pi = log_rate - np.logaddexp.reduce(log_rate)
    cat_logp, cont_logp = _cat_logp(params, state), _cont_logp(params, state)
    loglik = component_loglik(codes, bins, ev.offsets[idx], cat_logp, cont_logp)
    resp, nll = e_step(loglik, log_pi)
    state["acc_comp"] += resp.sum(0)
    state["acc_n"] += len(nll)
    state["acc_nll"] += nll.sum()
    rate = np.exp(log_rate)
    burst = np.zeros(len(nll))
    for a, logp in enumerate(cat_logp):
        acc = state[f"acc_cat.{a}"]
        acc += np.bincount(codes[:, a], minlength=acc.size)
        if params.use_group:
            expected = np.exp(logp[:, codes[:, a]]).T @ rate
            burst = np.maximum(burst, burst_llr(acc[codes[:, a]] - 1.0, expected))
    score = nll
    if params.use_group:
        z = intensity_z(state["acc_comp"], mean, var)
        score = nll + burst + resp @ (0.5 * np.maximum(z, 0.0) ** 2)
        state["acc_evt"] += resp.T @ burst
    if adapt:
        for a in range(codes.shape[1]):
            state[f"buf_cat.{a}"] += weighted_counts(codes[:, a], resp, cat_logp[a].shape[1])
        for j in range(bins.shape[1]):
            state[f"buf_cont.{j}"] += weighted_counts(bins[:, j], resp, cont_logp[j].shape[1])
    attribution = None
    if explain:
        best = resp.argmax(1)
        parts = [-logp[best, codes[:, a]] for a, logp in enumerate(cat_logp)]
        parts += [-(logp[best, bins[:, j]]) for j, logp in enumerate(cont_logp)]
        attribution = np.stack(parts, axis=1)
    return score, nll, resp.argmax(1), attribution


def run_stream(params: StreamParams, state: dict[str, np.ndarray], ev: EncodedEvents, adapt: bool, flush: bool,
               explain: bool = False) -> StreamRun:
    """Process time-ordered events (within tolerance) in place of ``state``; ``flush`` closes the last window."""
    n = ev.times.shape[0]
    if adapt:
        _ensure_adaptive(params, state)
    windows = np.floor(ev.times / params.window_seconds).astype(np.int64)
    if n and state["started"][0]:
        windows = np.maximum(windows, state["window"][0])
    windows = np.maximum.accumulate(windows) if n else windows
    scores, nll, comp = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    attribution = np.zeros((n, ev.codes.shape[1] + ev.bins.shape[1])) if explain else None
    rows: list[tuple] = []
    bounds = np.flatnonzero(np.diff(windows)) + 1 if n else np.zeros(0, dtype=np.int64)
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, n], strict=True):
        if start == stop:
            continue
        target = int(windows[start])
        if not state["started"][0]:
            _advance(params, state, target - int(state["window"][0]), observed=False)
            state["started"][0] = 1
        elif target > state["window"][0]:
            if not state["closed"][0]:
                row = _close(params, state, adapt)
                if row is not None:
                    rows.append(row)
            _advance(params, state, target - int(state["window"][0]), observed=True)
        state["closed"][0] = 0  # events after a flush reopen the window
        idx = slice(int(start), int(stop))
        scores[idx], nll[idx], comp[idx], part = _score_run(params, state, ev, idx, adapt, explain)
        if explain:
            attribution[idx] = part
    if n:
        state["last_time"][0] = max(float(state["last_time"][0]), float(ev.times.max()))
        state["offset"][0] += n
    if flush and state["started"][0] and not state["closed"][0]:
        row = _close(params, state, adapt)
        if row is not None:
            rows.append(row)
    return StreamRun(scores.astype(np.float32), nll, comp, rows, attribution)
