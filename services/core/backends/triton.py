"""The Triton backend: the detector's exported tensor graph runs in a Triton server, called with tritonclient.

On load, the stored version is exported into ``settings.triton_model_repository`` when it is not there
yet (``services.core.triton.repository``; ``config.pbtxt`` + ``<n>/model.pt``), and the backend checks
that the server at ``settings.triton_url`` serves that version (a server started on the repository
before the export must be restarted, or told to load it). Without a repository setting, the server's
latest version of ``<service>-<detector>`` is used as it is.

Only stateless scoring runs on Triton: ``score`` and ``score_and_explain``; ``stream_step`` needs the
inline or ray backend. Batches larger than the model's ``max_batch_size`` are split and sent concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import numpy as np

from services.core.backends.base import Backend, BackendSettings
from services.core.contract import METADATA_FILE, Detector, ModelMetadata, StreamState
from services.core.errors import InvalidInputError, NotReadyError
from services.core.store import StoredModel

__all__ = ["TritonBackend"]

log = logging.getLogger(__name__)

NUMPY_TYPES = {"TYPE_UINT8": np.uint8, "TYPE_FP32": np.float32, "TYPE_FP64": np.float64, "TYPE_INT64": np.int64,
               "TYPE_INT32": np.int32, "TYPE_BOOL": np.bool_, "TYPE_FP16": np.float16}


def _short(name: str) -> str:
    """``scores__0`` → ``scores``."""
    head, sep, index = name.rpartition("__")
    return head if sep and index.isdigit() else name


class TritonBackend(Backend):
    """Scores through a Triton server's gRPC endpoint (KServe v2 + Triton extensions)."""

    kind = "triton"

    def __init__(self, settings: BackendSettings, stored: StoredModel, detector_cls: type[Detector]) -> None:
        import tritonclient.grpc as tgrpc
        from google.protobuf import json_format
        from tritonclient.utils import InferenceServerException

        from services.core.triton.repository import export_version, model_name, read_config

        self.url, self.name = settings.triton_url, model_name(stored.service, stored.detector)
        self._timeout = settings.triton_timeout_s
        meta = ModelMetadata.model_validate_json((stored.path / METADATA_FILE).read_text())
        self._checker = detector_cls(detector_cls.Config.from_stored(meta.config))  # validates inputs; no weights
        with tgrpc.InferenceServerClient(self.url) as client:
            try:
                if settings.triton_model_repository:
                    repository = Path(settings.triton_model_repository)
                    self.version = str(export_version(repository, stored, detector_cls).version)
                    config = read_config(repository, self.name)
                else:
                    self.version, config = "", client.get_model_config(self.name).config
                ready = client.is_model_ready(self.name, self.version)
            except InferenceServerException as error:
                raise NotReadyError(f"Triton at {self.url} cannot serve {self.name}: {error.message()}") from error
        if not ready:
            raise NotReadyError(
                f"Triton at {self.url} does not serve {self.name} version {self.version or 'latest'}; "
                "start (or reload) it on the model repository"
            )
        spec = json_format.MessageToDict(config, preserving_proto_field_name=True)
        (self._input,) = spec["input"]
        self._input_type = NUMPY_TYPES[self._input["data_type"]]
        self._dims = tuple(int(d) for d in self._input["dims"])
        self._outputs = [(o["name"], "reshape" in o) for o in spec["output"]]
        self._max_batch = int(spec.get("max_batch_size", 0)) or 1
        self._client: Any = None
        log.info("triton backend: %s version %s at %s", self.name, self.version or "latest", self.url)

    def _prepare(self, item: np.ndarray) -> np.ndarray:
        """Validate like the detector, then match the graph's input dtype and per-item dims."""
        array = self._checker.validate_input(item)
        if array.dtype != self._input_type:
            if self._input_type is np.uint8 and array.dtype.kind == "f":  # images in [0, 1] → 8-bit
                array = np.round(array * 255.0).astype(np.uint8)
            else:
                array = array.astype(self._input_type)
        if array.shape[1:] != self._dims:
            raise InvalidInputError(
                f"the Triton model {self.name} takes items of shape {list(self._dims)}, got {list(array.shape[1:])}"
            )
        return np.ascontiguousarray(array)

    async def _infer(self, batch: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        import tritonclient.grpc as tgrpc
        from tritonclient.grpc import aio as tgrpc_aio
        from tritonclient.utils import InferenceServerException

        if self._client is None:  # created inside the event loop
            self._client = tgrpc_aio.InferenceServerClient(self.url)
        datatype = self._input["data_type"].removeprefix("TYPE_")
        tensor = tgrpc.InferInput(self._input["name"], list(batch.shape), datatype)
        tensor.set_data_from_numpy(batch)
        wanted = [(full, reshape) for full, reshape in self._outputs if _short(full) in names]
        try:
            result = await self._client.infer(
                self.name, [tensor], model_version=self.version,
                outputs=[tgrpc.InferRequestedOutput(full) for full, _ in wanted], client_timeout=self._timeout,
            )
        except InferenceServerException as error:
            status = error.status() or ""
            if "UNAVAILABLE" in status or "DEADLINE" in status:
                raise NotReadyError(f"Triton at {self.url} is unavailable: {error.message()}") from error
            if "INVALID_ARGUMENT" in status:
                raise InvalidInputError(f"Triton rejected the input: {error.message()}") from error
            raise RuntimeError(f"Triton inference of {self.name} failed: {error}") from error
        out = {}
        for full, reshape in wanted:
            array = result.as_numpy(full)
            out[_short(full)] = array.reshape(len(array)) if reshape else array
        return out

    async def _run(self, item: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        batch = self._prepare(item)
        chunks = [batch[i : i + self._max_batch] for i in range(0, len(batch), self._max_batch)]
        parts = await asyncio.gather(*(self._infer(chunk, names) for chunk in chunks))
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    async def score(self, item: np.ndarray) -> np.ndarray:
        return (await self._run(item, ["scores"]))["scores"].astype(np.float32, copy=False)

    async def score_and_explain(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = await self._run(item, ["scores", "anomaly_map"])
        evidence = next((out[k] for k in out if k != "scores"), out["scores"])
        return out["scores"].astype(np.float32, copy=False), evidence

    async def stream_step(
        self, points: np.ndarray, state: StreamState | None, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        raise InvalidInputError("streaming keeps per-stream state: use the inline or ray backend, not triton")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
