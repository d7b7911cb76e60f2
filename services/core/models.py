"""Model lifecycle inside a service: resolve a ``ModelRef``, load it once onto a backend, fit new versions.

The calibrator and metadata stay in the service process (calibration is separate from models);
only scoring goes to the backend.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from polyad.common.v1 import common_pb2
from services.core import registry
from services.core.backends import Backend, BackendSettings, make_backend
from services.core.calibration import ConformalCalibrator
from services.core.contract import ModelMetadata
from services.core.store import ModelStore, StoredModel
from services.core.training import build_detector, fit_and_store

__all__ = ["LoadedModel", "ModelManager"]


@dataclass
class LoadedModel:
    """A stored version ready to score."""

    stored: StoredModel
    metadata: ModelMetadata
    calibrator: ConformalCalibrator
    backend: Backend

    def info(self, backend_kind: str) -> common_pb2.ModelInfo:
        """``common.v1.ModelInfo`` for this version."""
        meta = self.metadata
        info = common_pb2.ModelInfo(
            service=self.stored.service,
            detector=self.stored.detector,
            version=self.stored.version,
            modality=meta.modality,
            input_dtype=common_pb2.DataType.Value(f"DATA_TYPE_{meta.input_spec.dtype.upper()}"),
            input_shape=meta.input_spec.shape,
            input_description=meta.input_spec.description,
            config_json=json.dumps(meta.config),
            training_summary_json=json.dumps(meta.training_summary),
            metrics=meta.metrics,
            calibration_size=self.calibrator.size,
            backend=backend_kind,
        )
        info.created_at.FromMicroseconds(int(meta.created_at * 1e6))
        return info


class ModelManager:
    """Loads versions lazily (one load per version, even under concurrent requests)."""

    def __init__(self, service: str, store: ModelStore, backend: BackendSettings, default_detector: str) -> None:
        self.service = service
        self.store = store
        self.backend_settings = backend
        self.default_detector = default_detector
        self._loaded: dict[tuple[str, str], LoadedModel] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def resolve(self, ref: common_pb2.ModelRef | None) -> StoredModel:
        """The stored version a reference names (``NOT_FOUND`` when missing)."""
        detector = (ref.detector if ref is not None else "") or self.default_detector
        registry.detector_class(self.service, detector)  # unknown detector → INVALID_ARGUMENT
        return self.store.resolve(self.service, detector, ref.version if ref is not None else "")

    async def get(self, ref: common_pb2.ModelRef | None) -> LoadedModel:
        """The loaded model for ``ref``, loading it on first use."""
        stored = self.resolve(ref)
        key = (stored.detector, stored.version)
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._loaded:
                self._loaded[key] = await asyncio.to_thread(self._load, stored)
        return self._loaded[key]

    def _load(self, stored: StoredModel) -> LoadedModel:
        from safetensors.numpy import load_file

        from services.core.contract import METADATA_FILE
        from services.core.store import CALIBRATION_FILE

        cls = registry.detector_class(self.service, stored.detector)
        metadata = ModelMetadata.model_validate_json((stored.path / METADATA_FILE).read_text())
        calibrator = ConformalCalibrator.from_state_dict(load_file(str(stored.path / CALIBRATION_FILE)))
        backend = make_backend(self.backend_settings, stored, cls)
        return LoadedModel(stored, metadata, calibrator, backend)

    async def fit(
        self, detector: str, train: np.ndarray, calibration: np.ndarray, overrides: dict[str, Any]
    ) -> LoadedModel:
        """Fit a new version on ``train``, calibrate on held-out ``calibration``, store, and load it."""
        cls = registry.detector_class(self.service, detector or self.default_detector)
        model = build_detector(cls, overrides)
        stored = await asyncio.to_thread(fit_and_store, self.store, self.service, model, train, calibration)
        return await self.get(common_pb2.ModelRef(detector=stored.detector, version=stored.version))

    async def close(self) -> None:
        """Release every backend."""
        for loaded in self._loaded.values():
            await loaded.backend.close()
        self._loaded.clear()
