"""What the service reads from a stored version besides the backend's detector: sensor ids, the road graph and
the LyCon-WRL+ controller (weights under ``controller.`` in the version's safetensors file). Cached per version."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.contract import WEIGHTS_FILE
from services.core.models import LoadedModel

__all__ = ["ModelFiles"]


class ModelFiles:
    """Per-version cache of sensor ids, adjacency and controller."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str], Any] = {}

    def _get(self, model: LoadedModel, what: str, build: Any) -> Any:
        key = (model.stored.detector, model.stored.version, what)
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _tensors(self, model: LoadedModel, prefix: str) -> dict[str, np.ndarray]:
        from safetensors import safe_open

        with safe_open(str(model.stored.path / WEIGHTS_FILE), framework="numpy") as handle:
            return {k: handle.get_tensor(k) for k in handle.keys() if k.startswith(prefix)}  # noqa: SIM118

    def sensors(self, model: LoadedModel) -> list[str]:
        """Sensor ids in column order (``s0…`` when the model was fitted without names)."""
        def build() -> list[str]:
            names = list(model.metadata.config.get("sensors") or [])
            n = model.metadata.input_spec.shape[1]
            return names if len(names) == n else [f"s{i}" for i in range(n)]

        return self._get(model, "sensors", build)

    def adjacency(self, model: LoadedModel) -> np.ndarray | None:
        """The model's ``(N, N)`` bool adjacency, or None when the version has none."""
        def build() -> np.ndarray | None:
            found = self._tensors(model, "graph.adjacency")
            return found["graph.adjacency"].astype(bool) if found else None

        return self._get(model, "adjacency", build)

    def controller(self, model: LoadedModel) -> tuple[Any, dict[str, Any]] | None:
        """(agent, description) of the version's controller, or None."""
        def build() -> tuple[Any, dict[str, Any]] | None:
            meta = model.metadata.training_summary.get("controller")
            if not meta:
                return None
            from services.traffic.control.persist import agent_from_state

            prefix = "controller."
            state = {k[len(prefix):]: v for k, v in self._tensors(model, prefix).items()}
            return agent_from_state(state, meta), meta

        return self._get(model, "controller", build)
