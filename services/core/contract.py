"""The detector contract every Polyad method implements (DESIGN.md §5).

A plugin subclasses :class:`Detector` (generic over its batch type: an array, or a
dataclass such as a graph snapshot), declares a pydantic ``Config`` and writes six
methods — ``_fit``, ``_score``, ``state_dict``, ``load_state_dict``, ``input_spec`` and
``validate_input``; the base class gives ``fit``, ``score``, ``score_many``, ``explain``,
``metadata``, ``save`` and ``load`` (weights as safetensors, metadata as JSON), like
PyOD's ``BaseDetector``.
Calibration and decisions live in :mod:`services.core.calibration`, never here (a detector may only
name Mondrian groups of its held-out units, :meth:`Detector.calibration_groups`).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from services.core.calibration import ConformalCalibrator

__all__ = [
    "BatchT", "Detector", "DetectorConfig", "InputSpec", "ModelMetadata", "NotFittedError", "StreamState",
    "TensorGraph",
]

WEIGHTS_FILE = "weights.safetensors"
METADATA_FILE = "metadata.json"

BatchT = TypeVar("BatchT")
"""What a detector scores: ``np.ndarray`` for most, a domain dataclass (e.g. a graph snapshot) for others."""

StreamState = dict[str, np.ndarray]
"""Opaque per-stream state: named arrays, so it can travel to a stateless replica and back."""


class NotFittedError(RuntimeError):
    """Raised when a detector is used before ``fit`` or ``load``."""


@dataclass(frozen=True)
class TensorGraph:
    """A detector's scoring as one pure tensor graph, for export (TorchScript in a Triton repository).

    ``module(*example)`` returns one tensor per ``outputs`` entry, in order. Every tensor has a leading
    batch axis of at most ``max_batch_size``; the ``(name, v2 datatype, dims)`` signatures exclude it.
    """

    module: Any  # a torch.nn.Module in eval mode
    example: tuple[Any, ...]  # example inputs (torch tensors) for tracing
    inputs: tuple[tuple[str, str, tuple[int, ...]], ...]
    outputs: tuple[tuple[str, str, tuple[int, ...]], ...]
    max_batch_size: int


class DetectorConfig(BaseModel):
    """Base of every detector's configuration: validated, immutable, JSON round-trippable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Fields added after models were stored, with the value that matches how those models were built; a stored
    #: config that lacks such a field loads with this value instead of the (possibly different) current default.
    stored_before_field: ClassVar[dict[str, Any]] = {}
    seed: int = Field(0, description="Seed for every random number generator the detector uses.")
    show_progress: bool = Field(False, description="Show a progress bar while fitting.")

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> DetectorConfig:
        """A stored model's config: its saved fields, and ``stored_before_field`` for fields it predates."""
        return cls(**{**cls.stored_before_field, **stored})


class InputSpec(BaseModel):
    """What a detector accepts: dtype, shape with -1 for free axes, and limits."""

    dtype: str = "float32"
    shape: list[int] = Field(default_factory=list, description="-1 marks a free axis.")
    description: str = ""


class ModelMetadata(BaseModel):
    """Everything written beside the weights in ``metadata.json``."""

    name: str
    version: str = ""
    modality: str
    config: dict[str, Any]
    input_spec: InputSpec
    training_summary: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)


class Detector(ABC, Generic[BatchT]):
    """Base class: ``fit`` on normal data, ``score`` gives float32 ``(n,)``, higher = more anomalous.

    Subclasses set ``name``, ``modality`` and ``Config``, and implement the six abstract methods
    (``_fit``, ``_score``, ``state_dict``/``load_state_dict`` with tensors only, ``input_spec``,
    ``validate_input``). Optional: ``explain`` / ``score_and_explain`` for evidence, ``update`` and
    ``initial_stream_state`` / ``stream_step`` for methods that adapt online.
    """

    name: ClassVar[str]
    modality: ClassVar[str]
    Config: ClassVar[type[DetectorConfig]] = DetectorConfig

    @classmethod
    def unavailable_reason(cls) -> str:
        """Why this detector cannot run in this deployment ("" when it can), e.g. a missing local checkpoint.

        Reported by GetModelInfo, the gateway's service list and KServe repository index; a detector that
        cannot run refuses Detect with FAILED_PRECONDITION naming the same setting, never a made-up score.
        """
        return ""

    def __init__(self, config: DetectorConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        base = config.model_dump() if isinstance(config, DetectorConfig) else dict(config or {})
        self.config = self.Config(**{**base, **overrides})
        self.training_summary_: dict[str, Any] = {}
        self.metrics_: dict[str, float] = {}
        self.fitted_ = False

    # -- the six methods a plugin writes -------------------------------------------------
    @abstractmethod
    def _fit(self, data: BatchT) -> dict[str, Any]:
        """Learn from normal data; return a JSON-able training summary."""

    @abstractmethod
    def _score(self, batch: BatchT) -> np.ndarray:
        """Raw anomaly scores, float32 ``(n,)``."""

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """All learned state as named arrays (no pickle)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore learned state from :meth:`state_dict` output."""

    @abstractmethod
    def input_spec(self) -> InputSpec:
        """The accepted input, for model info and the gateway's OpenAPI/KServe metadata."""

    @abstractmethod
    def validate_input(self, batch: BatchT) -> BatchT:
        """Check shape/dtype/finiteness; raise ``InvalidInputError`` naming what was expected."""

    # -- what the base class gives --------------------------------------------------------
    def fit(self, data: BatchT) -> Detector[BatchT]:
        """Fit on normal data and return ``self``."""
        data = self.validate_input(data)
        started = time.perf_counter()
        summary = self._fit(data)
        self.training_summary_ = {**summary, "fit_seconds": round(time.perf_counter() - started, 3)}
        self.fitted_ = True
        return self

    def score(self, batch: BatchT) -> np.ndarray:
        """Anomaly scores ``(n,)`` float32 for a validated batch."""
        self._check_fitted()
        scores = np.asarray(self._score(self.validate_input(batch)), dtype=np.float32)
        if scores.ndim != 1:
            raise AssertionError(f"{self.name}._score returned shape {scores.shape}, expected (n,)")
        return scores

    def score_many(self, batches: list[BatchT]) -> list[np.ndarray]:
        """Score several inputs at once (dynamic batching); override to fuse them into one pass."""
        return [self.score(batch) for batch in batches]

    def explain(self, batch: BatchT) -> Any:
        """Per-element evidence (maps ``(n, H, W)``, per-point scores, node evidence…); default: the scores."""
        return self.score(batch)

    def score_and_explain(self, batch: BatchT) -> tuple[np.ndarray, Any]:
        """Scores ``(n,)`` and evidence in one call; override to share one forward pass."""
        return self.score(batch), self.explain(batch)

    def update(self, batch: BatchT) -> None:
        """Online adaptation on unlabelled data; detectors that do not adapt ignore it."""
        self._check_fitted()

    def initial_stream_state(self) -> StreamState:
        """State for a new stream; detectors that stream override this and :meth:`stream_step`."""
        raise NotImplementedError(f"{self.name} does not support streaming")

    def stream_step(
        self, points: BatchT, state: StreamState, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        """Score newly arrived ``points`` given ``state``; return scores ``(k,)`` and the new state."""
        raise NotImplementedError(f"{self.name} does not support streaming")

    def stream_calibration_scores(self, normal: BatchT) -> np.ndarray | None:
        """Scores of held-out normal data as a stream sees them (calibrates stream p-values apart from
        batch ones); ``None``, the default, when a detector's stream and batch scores are alike."""
        return None

    def calibration_groups(self, calibration: BatchT, scores: np.ndarray, pooled: ConformalCalibrator
                           ) -> np.ndarray | None:
        """Mondrian groups ``(n,)`` int of the held-out normal units whose ``scores`` ``(n,)`` calibrate
        (``pooled`` is the calibration over all of them); ``None``, the default, for one pooled calibration.
        A detector that returns groups computes them at scoring time by the same observable rule."""
        return None

    def tensor_graph(self) -> TensorGraph | None:
        """Scoring as one exportable tensor graph, or None when it is not one (the default)."""
        return None

    def metadata(self) -> ModelMetadata:
        """The metadata written beside the weights."""
        return ModelMetadata(
            name=self.name,
            modality=self.modality,
            config=self.config.model_dump(),
            input_spec=self.input_spec(),
            training_summary=self.training_summary_,
            metrics=self.metrics_,
        )

    def save(self, directory: str | Path) -> None:
        """Write ``weights.safetensors`` and ``metadata.json`` into an existing directory."""
        from safetensors.numpy import save_file

        self._check_fitted()
        directory = Path(directory)
        tensors = {key: np.ascontiguousarray(value) for key, value in self.state_dict().items()}
        save_file(tensors, str(directory / WEIGHTS_FILE))
        (directory / METADATA_FILE).write_text(self.metadata().model_dump_json(indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> Detector[Any]:
        """Rebuild a fitted detector from :meth:`save` output."""
        from safetensors.numpy import load_file

        directory = Path(directory)
        meta = ModelMetadata.model_validate(json.loads((directory / METADATA_FILE).read_text()))
        if meta.name != cls.name:
            raise ValueError(f"{directory} holds a {meta.name!r} model, not {cls.name!r}")
        detector = cls(cls.Config.from_stored(meta.config))
        detector.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        detector.training_summary_ = meta.training_summary
        detector.metrics_ = meta.metrics
        detector.fitted_ = True
        return detector

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise NotFittedError(f"{self.name} is not fitted: call fit() or load() first")
