"""COMET detector glue: training, batch scoring, online adaptation, streaming and persistence.

A series is float32 ``(T, C)`` (``(T,)`` means one channel); scores are per point, ``(T,)``.
``fit``, ``score`` and ``update`` need ``T >= window`` (shorter input is an ``InvalidInputError``
naming the minimum: nothing is padded). Streams accept any number of points per step; the first
``window - 1`` points of a stream are its warm-up and score 0.0, the median normal patch score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.core.contract import Detector, InputSpec, StreamState
from services.timeseries.detectors.comet.adaptation import (
    AdaptParams,
    adapt_parameters,
    params_from_state,
    params_to_state,
)
from services.timeseries.detectors.comet.config import CometConfig
from services.timeseries.detectors.comet.coreset import dual_score, greedy_coreset, nearest_distance
from services.timeseries.detectors.comet.inputs import check_length, check_stream_state, validate_series
from services.timeseries.detectors.comet.model import CometNet
from services.timeseries.detectors.comet.normalization import centre_windows, input_statistics, transform
from services.timeseries.detectors.comet.training import fit_statistics, train_net

__all__ = ["CometConfig", "CometDetector"]


class CometDetector(Detector):
    """Codebook-based Online-adaptive Multi-scale Embedding for time-series anomaly detection."""

    name = "comet"
    modality = "timeseries"
    Config = CometConfig
    config: CometConfig

    def __init__(self, config: CometConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.net_: CometNet | None = None
        self.n_channels_: int | None = None

    # -- input --------------------------------------------------------------------------
    def input_spec(self) -> InputSpec:
        return InputSpec(
            dtype="float32",
            shape=[-1, self.n_channels_ or -1],
            description=f"Series (T, C) or (T,), finite numbers, T >= {self.config.window} (the window); "
            "scores are per point (T,).",
        )

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        return validate_series(batch, self.n_channels_ if self.fitted_ else None)

    def _normalise(self, series: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Raw ``(T, C)`` -> normalised ``(T, C)`` (``previous``: the raw point before, for streams)."""
        return transform(series, self.mean_, self.std_, self.config.normalization, previous)

    def _check_length(self, series: np.ndarray) -> np.ndarray:
        return check_length(series, self.config.window)

    # -- fit / score ----------------------------------------------------------------------
    def fit(self, data: np.ndarray) -> CometDetector:
        """Fit on normal data ``(T, C)``; refitting may change the channel count."""
        self.fitted_, self.n_channels_ = False, None
        super().fit(data)
        return self

    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        cfg = self.config
        self.n_channels_ = self._check_length(data).shape[1]
        self.mean_, self.std_ = input_statistics(data, cfg.normalization, cfg.window)
        x = torch.from_numpy(np.ascontiguousarray(self._normalise(data).T))  # (C, T)
        stride = max(1, -(-(x.shape[1] - cfg.window + 1) // cfg.max_train_windows))
        windows = x.unfold(1, cfg.window, stride).permute(1, 0, 2).contiguous()  # (N, C, W)
        windows = centre_windows(windows, cfg.normalization)
        generator = torch.Generator().manual_seed(cfg.seed)
        self.net_ = self._build(self.n_channels_)
        loss = train_net(self.net_, windows, cfg, generator)
        with torch.no_grad():
            embeddings = self._embed(windows)
            pool = [z[torch.randperm(len(z), generator=generator)[: cfg.coreset_pool]] for z in embeddings]
            size = min(cfg.memory_size, *(len(z) for z in pool))
            self.memory_ = torch.stack([z[greedy_coreset(z, size, generator)] for z in pool])  # (S, M, d)
            self.stats_, self.adapt_threshold_ = fit_statistics(
                self.net_, self.memory_, embeddings, cfg, generator
            )
        return {
            "n_points": int(data.shape[0]),
            "n_channels": self.n_channels_,
            "train_windows": len(windows),
            "train_stride": stride,
            "final_loss": round(loss, 5),
            "memory_size": size,
        }

    def _build(self, n_channels: int) -> CometNet:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = CometNet(
                cfg.window, cfg.patch_sizes, n_channels, cfg.d_model, cfg.n_heads, cfg.codebook_size
            )
        return net.eval()

    def _embed(self, windows: Tensor) -> list[Tensor]:
        """Windows ``(N, C, W)`` -> flat embeddings ``(N * P_s, d)`` per scale."""
        step = self.config.chunk_windows
        parts = [self.net_.encode(windows[i : i + step]) for i in range(0, len(windows), step)]
        return [
            torch.cat([p[s] for p in parts]).reshape(-1, self.config.d_model) for s in range(len(parts[0]))
        ]

    def _windows(self, series: np.ndarray) -> tuple[Tensor, np.ndarray]:
        """Scoring windows ``(N, C, W)`` of the normalised series and their starts ``(N,)``."""
        w, x = self.config.window, self._normalise(series)
        stride = self.config.score_stride or max(1, w // 2)
        starts = np.arange(0, len(x) - w + 1, stride)
        if starts[-1] != len(x) - w:
            starts = np.append(starts, len(x) - w)
        index = starts[:, None] + np.arange(w)
        windows = torch.from_numpy(np.ascontiguousarray(x[index].transpose(0, 2, 1)))
        return centre_windows(windows, self.config.normalization), starts

    def _params(self) -> AdaptParams:
        return self.net_.codebook.detach(), self.net_.adapter_weight, self.net_.adapter_bias

    def _window_scores(self, windows: Tensor, params: AdaptParams) -> tuple[Tensor, list[Tensor]]:
        """Windows ``(B, C, W)`` -> per-point scores ``(B, W)`` (mean over scales), raw embeddings."""
        cfg, (book, weight, bias), raw = self.config, params, []
        total = windows.new_zeros(windows.shape[0], cfg.window)
        for s, (z, p) in enumerate(zip(self.net_.encode(windows), cfg.patch_sizes, strict=True)):
            flat = z.reshape(-1, z.shape[-1])
            adapted = self.net_.adapt(flat, weight[s], bias[s])
            q, _ = self.net_.quantize(adapted, s, book[s])
            m = nearest_distance(adapted, self.memory_[s])
            patch = dual_score(q, m, self.stats_[s], cfg.score_weight).reshape(z.shape[:2])
            total += patch.repeat_interleave(p, dim=1)
            raw.append(flat)
        return total / len(cfg.patch_sizes), raw

    def _batch_window_scores(self, windows: Tensor) -> Tensor:
        """Windows ``(B, C, W)`` -> per-point window scores ``(B, W)``, ``chunk_windows`` at a time."""
        step = self.config.chunk_windows
        with torch.inference_mode():
            return torch.cat(
                [self._window_scores(windows[i : i + step], self._params())[0] for i in range(0, len(windows), step)]
            )

    def _fold(self, scores: Tensor, starts: np.ndarray, n: int) -> np.ndarray:
        """Average window scores ``(B, W)`` over the windows covering each point -> ``(n,)``."""
        length = int(starts[-1]) + self.config.window
        index = torch.from_numpy(starts[:, None] + np.arange(self.config.window)).reshape(-1)
        total = torch.zeros(length).index_add_(0, index, scores.reshape(-1))
        count = torch.zeros(length).index_add_(0, index, torch.ones(scores.numel()))
        return (total / count)[:n].numpy()

    def _score(self, batch: np.ndarray) -> np.ndarray:
        windows, starts = self._windows(self._check_length(batch))
        return self._fold(self._batch_window_scores(windows), starts, len(batch))

    def score_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Score several series in fused forward passes (what Ray's dynamic batching calls)."""
        self._check_fitted()
        series = [self._check_length(self.validate_input(batch)) for batch in batches]
        parts = [self._windows(one) for one in series]
        scores = self._batch_window_scores(torch.cat([windows for windows, _ in parts]))
        results, offset = [], 0
        for (windows, starts), one in zip(parts, series, strict=True):
            results.append(self._fold(scores[offset : offset + len(windows)], starts, len(one)).astype(np.float32))
            offset += len(windows)
        return results

    # -- online adaptation and streaming ---------------------------------------------------
    def _adapt(self, params: AdaptParams, embeddings: list[Tensor]) -> AdaptParams:
        """Adapted ``params``, then ``adapt_decay`` of their drift from the model's own undone."""
        cfg = self.config
        threshold, scale = self.adapt_threshold_, self.stats_[:, 0]
        args = (cfg.adapt_lr, cfg.adapt_steps, cfg.temperature, cfg.adapt_alignment)
        adapted = adapt_parameters(params, embeddings, threshold, scale, *args)[0]
        keep = 1.0 - cfg.adapt_decay
        return tuple(  # type: ignore[return-value]
            base + keep * (new - base) for base, new in zip(self._params(), adapted, strict=True)
        )

    def update(self, batch: np.ndarray) -> None:
        """Adapt this detector's codebook and adapter to unlabelled ``batch`` ``(T, C)``.

        A no-op when ``online_adaptation`` is off.
        """
        self._check_fitted()
        series = self._check_length(self.validate_input(batch))
        if not self.config.online_adaptation:
            return
        with torch.no_grad():
            windows = self._windows(series)[0]
            if self.config.adapt_max_score is not None:
                windows = windows[self._batch_window_scores(windows).amax(1) <= self.config.adapt_max_score]
                if not len(windows):
                    return
            embeddings = self._embed(windows)
            for target, value in zip(self._params(), self._adapt(self._params(), embeddings), strict=True):
                target.copy_(value)

    def initial_stream_state(self) -> StreamState:
        """Buffer ``(W, C)`` of normalised points, the last raw point ``previous`` ``(C,)`` and counters
        (``count``, ``since_adapt``), ``(1,)`` each.

        A stream that adapts gets its own copy of the codebook ``(S, K, d)`` and adapter
        (``adapter_weight`` ``(S, d, d)``, ``adapter_bias`` ``(S, d)``) at its first adaptation, so
        non-adapting streams stay small.
        """
        self._check_fitted()
        return {
            "buffer": np.zeros((self.config.window, self.n_channels_), np.float32),
            "previous": np.zeros(self.n_channels_, np.float32),
            "count": np.zeros(1, np.int64),
            "since_adapt": np.zeros(1, np.int64),
        }

    def stream_step(
        self, points: np.ndarray, state: StreamState, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        """Score new ``points`` ``(k, C)``: each gets the score of the latest patch covering it, ``(k,)``.

        The first ``W - 1`` points of a stream (no full window yet) score 0.0. With ``adapt`` (and
        ``online_adaptation``) the stream's own copy of the codebook/adapter is adapted every
        ``adapt_every`` points; the shared model never changes.
        """
        self._check_fitted()
        w, raw = self.config.window, self.validate_input(points)
        buffer, previous, count, since = check_stream_state(state, w, self.n_channels_)
        x = self._normalise(raw, previous if count else None)
        own = params_from_state(state, self._params())
        params, owned = (own, True) if own is not None else (self._params(), False)
        adapt = adapt and self.config.online_adaptation
        out = []
        for start in range(0, len(x), w):
            chunk = x[start : start + w]
            buffer, count = np.concatenate([buffer, chunk])[-w:], count + len(chunk)
            if count < w:
                out.append(np.zeros(len(chunk), np.float32))
                continue
            window = centre_windows(torch.from_numpy(buffer.T.copy())[None], self.config.normalization)
            with torch.inference_mode():
                scores, embeddings = self._window_scores(window, params)
            # points of the stream's first W - 1 (warm-up) score 0.0
            out.append(np.where(np.arange(count - len(chunk), count) < w - 1, 0.0, scores[0, -len(chunk) :].numpy()))
            since += len(chunk) if adapt else 0
            limit = self.config.adapt_max_score
            if since >= self.config.adapt_every and (limit is None or float(scores.max()) <= limit):
                params, since, owned = self._adapt(params, embeddings), 0, True
        new = {
            "buffer": buffer.astype(np.float32),
            "previous": raw[-1].astype(np.float32),
            "count": np.array([count], np.int64),
            "since_adapt": np.array([since], np.int64),
        }
        if owned:
            new.update(params_to_state(params))
        return np.concatenate(out).astype(np.float32), new

    def stream_calibration_scores(self, normal: np.ndarray) -> np.ndarray:
        """Stream-mode scores ``(T - W + 1,)`` of held-out normal ``(T, C)``, warm-up left out.

        What stream p-values are calibrated against: one non-adapting stream, fed a window at a time.
        """
        normal = self._check_length(self.validate_input(normal))
        state, out = self.initial_stream_state(), []
        for start in range(0, len(normal), self.config.window):
            scores, state = self.stream_step(normal[start : start + self.config.window], state, adapt=False)
            out.append(scores)
        return np.concatenate(out)[self.config.window - 1 :]

    # -- persistence ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"net.{k}": v.detach().numpy().copy() for k, v in self.net_.state_dict().items()}
        state.update(
            memory=self.memory_.numpy(),
            score_stats=self.stats_.numpy(),
            adapt_threshold=self.adapt_threshold_.numpy(),
            mean=self.mean_,
            std=self.std_,
            n_channels=np.array([self.n_channels_], np.int64),
        )
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.n_channels_ = int(state["n_channels"][0])
        self.net_ = self._build(self.n_channels_)
        self.net_.load_state_dict(
            {k[4:]: torch.from_numpy(v.copy()) for k, v in state.items() if k[:4] == "net."}
        )
        self.memory_ = torch.from_numpy(state["memory"].copy())
        self.stats_ = torch.from_numpy(state["score_stats"].copy())
        self.adapt_threshold_ = torch.from_numpy(state["adapt_threshold"].copy())
        self.mean_, self.std_ = state["mean"].astype(np.float32), state["std"].astype(np.float32)
