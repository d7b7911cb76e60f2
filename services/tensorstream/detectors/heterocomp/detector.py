"""HeteroComp detector glue: validation, fit, batch and stream scoring, explanation, persistence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from services.core.contract import Detector, InputSpec, StreamState
from services.core.errors import InvalidInputError
from services.tensorstream.batch import EventBatch, EventSchema
from services.tensorstream.detectors.heterocomp.config import HeteroCompConfig
from services.tensorstream.detectors.heterocomp.model import HeteroCompModel
from services.tensorstream.detectors.heterocomp.scoring import WindowScores
from services.tensorstream.detectors.heterocomp.streaming import StreamParams, initial_state, run_stream
from services.tensorstream.validation import validate_events

__all__ = ["EventExplanation", "HeteroCompDetector", "StreamOutput"]


@dataclass(frozen=True)
class StreamOutput:
    """One stream call: scores (n,) float32, nll (n,) float32, component (n,) int64 (each event's most likely
    component), windows closed during the call, offset (stream index of the first event)."""

    scores: np.ndarray
    nll: np.ndarray
    component: np.ndarray
    windows: WindowScores
    offset: int


@dataclass(frozen=True)
class EventExplanation:
    """Per-event evidence: component (n,) int64, attribute_nll (n, A) float32 (each attribute's −log p under
    that component, ``attributes`` order), and the batch's window scores."""

    component: np.ndarray
    attribute_nll: np.ndarray
    attributes: tuple[str, ...]
    windows: WindowScores


class HeteroCompDetector(Detector):
    """Components over heterogeneous event streams with GP priors on densities and dynamics; scores events
    (mixture NLL + the group evidence they share) and windows (group anomalies), online."""

    name = "heterocomp"
    modality = "tensorstream"
    Config = HeteroCompConfig
    config: HeteroCompConfig

    def __init__(self, config: HeteroCompConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.model_: HeteroCompModel | None = None
        self._params: StreamParams | None = None

    # -- inputs ---------------------------------------------------------------------------
    @property
    def schema_(self) -> EventSchema | None:
        """The event schema: the fitted model's, else the configured one (None when neither)."""
        if self.model_ is not None:
            return self.model_.schema
        cfg = self.config
        if cfg.categorical is None or cfg.continuous is None:
            return None
        return EventSchema(categorical=cfg.categorical, continuous=cfg.continuous)

    def input_spec(self) -> InputSpec:
        schema = self.schema_
        names = f"categorical {list(schema.categorical)}, continuous {list(schema.continuous)}" if schema else \
            "attributes declared at fit"
        return InputSpec(dtype="float64", shape=[-1, len(schema.attributes) + 1 if schema else -1],
                         description=f"events: float64 time seconds + {names} (categorical as strings); "
                                     f"time-ordered within {self.config.time_tolerance:g} s; "
                                     f"window {self.config.window_seconds:g} s")

    def validate_input(self, batch: EventBatch, last_time: float = -np.inf) -> EventBatch:  # type: ignore[override]
        schema = self.schema_
        if schema is None:
            if not isinstance(batch, EventBatch):
                raise InvalidInputError(f"expected an EventBatch, got {type(batch).__name__}", "events")
            schema = batch.schema
        if not schema.attributes:
            raise InvalidInputError("events need at least one attribute", "events")
        return validate_events(batch, schema, self.config.time_tolerance, last_time, self.config.max_events)

    # -- fit ------------------------------------------------------------------------------
    def _fit(self, data: EventBatch) -> dict[str, Any]:
        from services.tensorstream.detectors.heterocomp.training import fit_model

        self.model_, summary = fit_model(self.config, data, data.schema)
        self._params = None
        return summary

    @property
    def params_(self) -> StreamParams:
        """The cached stream view of the model."""
        if self._params is None:
            self._params = self.model_.params(self.config)
        return self._params

    # -- batch scoring --------------------------------------------------------------------
    def _run(self, batch: EventBatch, flush: bool, explain: bool = False):  # type: ignore[no-untyped-def]
        state = self.initial_stream_state()
        return run_stream(self.params_, state, self.model_.encode(batch), adapt=False, flush=flush, explain=explain)

    def _score(self, batch: EventBatch) -> np.ndarray:
        return self._run(batch, flush=False).scores

    def score_windows(self, batch: EventBatch) -> tuple[np.ndarray, WindowScores]:
        """Event scores ``(n,)`` and the group scores of every window the batch touches, in one pass."""
        self._check_fitted()
        run = self._run(self.validate_input(batch), flush=True)
        return run.scores, WindowScores.from_rows(run.windows, self.config.window_seconds)

    def window_scores(self, batch: EventBatch) -> WindowScores:
        """Group scores of the batch's windows (index, start, n_events, score, component, terms, expected)."""
        return self.score_windows(batch)[1]

    def score_and_explain(self, batch: EventBatch) -> tuple[np.ndarray, EventExplanation]:  # type: ignore[override]
        """Scores ``(n,)`` and :class:`EventExplanation` in one pass."""
        self._check_fitted()
        run = self._run(self.validate_input(batch), flush=True, explain=True)
        explanation = EventExplanation(run.component, run.attribute_nll.astype(np.float32),
                                       self.model_.schema.attributes,
                                       WindowScores.from_rows(run.windows, self.config.window_seconds))
        return run.scores, explanation

    def explain(self, batch: EventBatch) -> EventExplanation:  # type: ignore[override]
        """Each event's component and per-attribute NLL, and the windows' group scores and components."""
        return self.score_and_explain(batch)[1]

    # -- online ---------------------------------------------------------------------------
    def initial_stream_state(self) -> StreamState:
        self._check_fitted()
        m = self.model_
        return initial_state(self.params_, m.kf_mean, m.kf_cov, m.kf_window)

    def stream_process(self, batch: EventBatch, state: StreamState, adapt: bool, flush: bool = False
                       ) -> tuple[StreamOutput, StreamState]:
        """Score newly arrived events given ``state``; windows that close are scored too. ``flush`` closes the
        current window (end of stream). Returns the output and the new state (the input state is not changed)."""
        self._check_fitted()
        state = {key: value.copy() for key, value in state.items()}
        batch = self.validate_input(batch, last_time=float(state["last_time"][0]))
        offset = int(state["offset"][0])
        run = run_stream(self.params_, state, self.model_.encode(batch), adapt=adapt, flush=flush)
        windows = WindowScores.from_rows(run.windows, self.config.window_seconds)
        return StreamOutput(run.scores, run.nll.astype(np.float32), run.component, windows, offset), state

    def stream_step(self, points: EventBatch, state: StreamState, adapt: bool  # type: ignore[override]
                    ) -> tuple[np.ndarray, StreamState]:
        """Contract form of :meth:`stream_process`: scores ``(k,)`` and the new state, which also carries the
        closed windows under ``emit.windows``; ``control.flush`` in ``state`` closes the current window
        (see :mod:`services.tensorstream.stream_io`)."""
        from services.tensorstream.stream_io import CONTROL_FLUSH, EMIT_WINDOWS, RESERVED, window_rows

        flush = bool(state.get(CONTROL_FLUSH, np.zeros(1))[0])
        state = {key: value for key, value in state.items() if key not in RESERVED}
        output, state = self.stream_process(points, state, adapt, flush=flush)
        state[EMIT_WINDOWS] = window_rows(output.windows)
        return output.scores, state

    def update(self, batch: EventBatch) -> None:
        """Adapt the model itself on unlabelled events (windows with a high group score are not learned)."""
        self._check_fitted()
        batch = self.validate_input(batch)
        state = self.initial_stream_state()
        run_stream(self.params_, state, self.model_.encode(batch), adapt=True, flush=True)
        m = self.model_
        m.cat_counts = [state[f"cat_counts.{a}"] for a in range(len(m.codecs))]
        m.cat_logp = [state[f"cat_logp.{a}"] for a in range(len(m.codecs))]
        m.cont_counts = [state[f"cont_counts.{j}"] for j in range(len(m.grids))]
        m.cont_logp = [state[f"cont_logp.{j}"] for j in range(len(m.grids))]
        gp = self.params_.gp
        if gp is not None:
            a, q = gp.transition(1.0)
            m.kf_mean, m.kf_cov = gp.predict(state["kf_mean"], state["kf_cov"], a, q)
        m.kf_window = int(state["window"][0]) + 1
        self._params = None

    # -- persistence ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model_.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.model_ = HeteroCompModel.from_state_dict(state)
        self._params = None
