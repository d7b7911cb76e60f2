"""The inline backend: the detector lives in the service process, scored on worker threads."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from services.core.backends.base import Backend, BackendSettings
from services.core.contract import Detector, StreamState
from services.core.metrics import BATCH_SIZE
from services.core.store import StoredModel

__all__ = ["InlineBackend"]


def _limit_torch_threads(threads: int) -> None:
    """Cap torch's intra-op threads (process-wide): oversubscribed cores slow scoring many-fold."""
    try:
        import torch
    except ImportError:  # a detector without torch has nothing to cap
        return
    torch.set_num_threads(threads)


class InlineBackend(Backend):
    """Scores in process; the event loop never blocks on model code."""

    kind = "inline"

    def __init__(self, settings: BackendSettings, stored: StoredModel, detector_cls: type[Detector]) -> None:
        _limit_torch_threads(settings.torch_threads)
        self.detector = detector_cls.load(stored.path)
        self._executor = ThreadPoolExecutor(settings.inline_threads, thread_name_prefix=f"inline-{stored.detector}")

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def score(self, item: np.ndarray) -> np.ndarray:
        BATCH_SIZE.labels(self.detector.name).observe(1)
        return await self._run(self.detector.score, item)

    async def score_and_explain(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        BATCH_SIZE.labels(self.detector.name).observe(1)
        return await self._run(self.detector.score_and_explain, item)

    async def stream_step(
        self, points: np.ndarray, state: StreamState | None, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        def step() -> tuple[np.ndarray, StreamState]:
            current = self.detector.initial_stream_state() if state is None else state
            return self.detector.stream_step(points, current, adapt)

        return await self._run(step)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
