"""The Ray Serve backend: one deployment per stored detector version, with dynamic batching.

Replicas are stateless: they load the version from the model store path, batch concurrent
``score`` calls with ``@serve.batch`` into one ``Detector.score_many`` pass, and take stream
state in and give it back, so any replica can serve any stream.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from services.core.backends.base import Backend, BackendSettings
from services.core.contract import Detector, StreamState
from services.core.errors import NotReadyError
from services.core.store import StoredModel

__all__ = ["DetectorReplica", "RayBackend", "build_app", "ensure_ray"]

log = logging.getLogger(__name__)


def ensure_ray(settings: BackendSettings) -> None:
    """Connect to ``settings.ray_address`` or start a local Ray once per process."""
    import ray

    if ray.is_initialized():
        return
    kwargs: dict = {"namespace": settings.ray_namespace, "ignore_reinit_error": True, "log_to_driver": False}
    if settings.ray_address:
        kwargs["address"] = settings.ray_address
    else:
        kwargs["include_dashboard"] = False
        if settings.ray_temp_dir:
            os.makedirs(settings.ray_temp_dir, exist_ok=True)
            kwargs["_temp_dir"] = settings.ray_temp_dir
    ray.init(**kwargs)


def _replica_class():  # type: ignore[no-untyped-def]
    from ray import serve

    @serve.deployment
    class DetectorReplica:
        """One model replica: loads the stored version and scores batches of items."""

        def __init__(self, model_path: str, detector_ref: str, settings: dict) -> None:
            import torch

            torch.set_num_threads(int(settings["torch_threads"]))
            module, _, qualname = detector_ref.partition(":")
            cls = getattr(importlib.import_module(module), qualname)
            self.detector: Detector = cls.load(model_path)
            self.score.set_max_batch_size(int(settings["max_batch_size"]))
            self.score.set_batch_wait_timeout_s(float(settings["batch_wait_timeout_s"]))

        @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
        async def score(self, items: list[np.ndarray]) -> list[tuple[np.ndarray, int]]:
            """Score a dynamic batch; each result carries the batch size for metrics."""
            return [(scores, len(items)) for scores in self.detector.score_many(items)]

        async def score_and_explain(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Scores and evidence (maps) for one item; images arrive already batched per request."""
            return self.detector.score_and_explain(item)

        async def runtime(self) -> dict:
            """Where this replica runs: the GPUs Ray gave it and the devices of the detector's torch modules."""
            import ray
            import torch

            devices = sorted({str(p.device) for value in vars(self.detector).values()
                              if isinstance(value, torch.nn.Module) for p in value.parameters()})
            return {"gpu_ids": [str(g) for g in ray.get_gpu_ids()], "cuda": torch.cuda.is_available(),
                    "module_devices": devices}

        async def stream_step(
            self, points: np.ndarray, state: StreamState | None, adapt: bool
        ) -> tuple[np.ndarray, StreamState]:
            current = self.detector.initial_stream_state() if state is None else state
            return self.detector.stream_step(points, current, adapt)

    return DetectorReplica


DetectorReplica = None  # built lazily so importing this module does not import ray


def _detector_ref(detector_cls: type[Detector]) -> str:
    return f"{detector_cls.__module__}:{detector_cls.__qualname__}"


def build_app(args: dict):  # type: ignore[no-untyped-def]
    """Serve application builder for a declared config (KubeRay ``RayService``, ``serve run``).

    ``args``: ``service``, ``detector``, ``version`` (``latest`` or empty = the store's LATEST),
    ``store_root`` and ``backend`` (BackendSettings fields). Replica count and resources come from
    the config's ``deployments`` entry, which overrides the defaults set here. A service attaches
    to the application by name (``BackendSettings.ray_serve_app``).
    """
    from services.core import registry
    from services.core.store import ModelStore

    settings = BackendSettings.model_validate(args.get("backend") or {})
    version = "" if args.get("version") in (None, "", "latest") else str(args["version"])
    stored = ModelStore(args.get("store_root")).resolve(args["service"], args["detector"], version)
    cls = registry.detector_class(stored.service, stored.detector)
    replica = _replica_class().options(name=f"{stored.service}-{stored.detector}")
    return replica.bind(str(stored.path), _detector_ref(cls), settings.model_dump())


def _deploy(app, app_name: str):  # type: ignore[no-untyped-def]
    """``serve.run`` on a Serve instance without HTTP proxy (replicas are reached through handles only).

    Starting Serve is a no-op when its controller exists (``polyad up`` starts it once). Two services
    starting it at the same moment race to create the controller; the loser sees
    ``ActorAlreadyExistsError`` and its second try attaches to the winner's controller.
    """
    from ray import serve
    from ray.exceptions import ActorAlreadyExistsError

    try:
        serve.start(proxy_location="Disabled")
    except ActorAlreadyExistsError:
        log.info("Serve's controller was created by another process at the same moment; attaching to it")
        serve.start(proxy_location="Disabled")
    return serve.run(app, name=app_name, route_prefix=None, blocking=False)


@contextmanager
def _replica_failures(app_name: str) -> Iterator[None]:
    """A dead, restarting or overloaded replica is UNAVAILABLE (retryable), not an internal error."""
    from ray import exceptions as ray_errors
    from ray.serve import exceptions as serve_errors

    retryable = (
        ray_errors.RayActorError,
        ray_errors.ActorUnavailableError,
        serve_errors.DeploymentUnavailableError,
        serve_errors.ReplicaUnavailableError,
        serve_errors.BackPressureError,
    )
    try:
        yield
    except retryable as error:
        raise NotReadyError(f"model replicas of {app_name} are unavailable ({type(error).__name__}); retry") from error


class RayBackend(Backend):
    """Scores through a Serve ``DeploymentHandle``."""

    kind = "ray"

    def __init__(self, settings: BackendSettings, stored: StoredModel, detector_cls: type[Detector]) -> None:
        from ray import serve

        from services.core.metrics import BATCH_SIZE

        ensure_ray(settings)
        self._batch_size = BATCH_SIZE.labels(stored.detector)
        self._owned = settings.ray_serve_app is None
        if not self._owned:  # a RayService declared the application: attach, never redeploy
            self.app_name = str(settings.ray_serve_app)
            self.handle = serve.get_app_handle(self.app_name)
            return
        self.app_name = f"{stored.service}-{stored.detector}-{stored.version}"
        options: dict = {
            "name": f"{stored.service}-{stored.detector}",
            "ray_actor_options": {"num_cpus": settings.num_cpus, "num_gpus": settings.num_gpus},
            "max_ongoing_requests": settings.max_ongoing_requests,
        }
        if settings.autoscaling:
            options["autoscaling_config"] = {
                "min_replicas": settings.min_replicas,
                "max_replicas": settings.max_replicas,
                "target_ongoing_requests": max(2, settings.max_batch_size // 2),
            }
        else:
            options["num_replicas"] = settings.num_replicas
        replica = _replica_class().options(**options)
        app = replica.bind(str(stored.path), _detector_ref(detector_cls), settings.model_dump())
        self.handle = _deploy(app, self.app_name)

    async def score(self, item: np.ndarray) -> np.ndarray:
        with _replica_failures(self.app_name):
            scores, batch_size = await self.handle.score.remote(item)
        self._batch_size.observe(batch_size)
        return scores

    async def score_and_explain(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with _replica_failures(self.app_name):
            return await self.handle.score_and_explain.remote(item)

    async def stream_step(
        self, points: np.ndarray, state: StreamState | None, adapt: bool
    ) -> tuple[np.ndarray, StreamState]:
        with _replica_failures(self.app_name):
            return await self.handle.stream_step.remote(points, state, adapt)

    async def close(self) -> None:
        from ray import serve

        if not self._owned:
            return
        try:
            serve.delete(self.app_name, _blocking=False)
        except Exception:
            log.warning("could not delete Serve app %s", self.app_name, exc_info=True)
