"""The backend interface: the same service code runs a detector in process, on Ray Serve or on Triton."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from services.core.contract import StreamState

__all__ = ["Backend", "BackendSettings"]


class BackendSettings(BaseModel):
    """Where and how models run; the same fields drive the Helm chart's RayService values."""

    kind: Literal["inline", "ray", "triton"] = "inline"
    inline_threads: int = Field(1, ge=1, description="Worker threads scoring in process.")
    ray_address: str | None = Field(None, description="Ray cluster address; None starts or joins a local Ray.")
    ray_namespace: str = "polyad"
    ray_serve_app: str | None = Field(
        None, description="Attach to this Serve application (declared by a KubeRay RayService) instead of deploying."
    )
    ray_temp_dir: str | None = Field(None, description="Ray's temporary directory (sockets, logs).")
    num_replicas: int = Field(1, ge=1)
    num_cpus: float = Field(1.0, ge=0)
    num_gpus: float = Field(0.0, ge=0, description="GPUs per replica; set > 0 only where GPUs exist.")
    max_batch_size: int = Field(16, ge=1, description="Largest dynamic batch (@serve.batch).")
    batch_wait_timeout_s: float = Field(0.005, ge=0, description="How long a batch waits to fill.")
    max_ongoing_requests: int = Field(64, ge=1)
    autoscaling: bool = Field(False, description="Autoscale between min/max replicas on queue length.")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(2, ge=1)
    torch_threads: int = Field(1, ge=1, description="torch intra-op threads per replica (inline: per process).")
    triton_url: str = Field("127.0.0.1:8001", description="Triton server's gRPC host:port (kind triton).")
    triton_model_repository: str | None = Field(
        None, description="Triton model repository the service exports missing versions into; None = export nothing."
    )
    triton_timeout_s: float = Field(30.0, gt=0, description="Timeout of each Triton inference call.")


class Backend(ABC):
    """Runs one stored detector version; every method is async and safe to call concurrently."""

    kind: str

    @abstractmethod
    async def score(self, item: np.ndarray) -> np.ndarray:
        """Raw scores ``(n,)`` for one validated item."""

    @abstractmethod
    async def score_and_explain(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores ``(n,)`` and per-element evidence (e.g. maps ``(n, H, W)``) for one item."""

    @abstractmethod
    async def stream_step(
        self, points: np.ndarray, state: StreamState | None, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        """Scores ``(k,)`` for new stream points; ``state=None`` starts a stream."""

    @abstractmethod
    async def close(self) -> None:
        """Release replicas or threads."""
