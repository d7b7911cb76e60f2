"""Tiny trained models of every fuzzed service in one model store, and the services + gateway on loopback.

Shared by the fuzz tests, the reliability tests and ``bench/reliability.py``; every model is the
smallest configuration the contract tests use (fast to train, not accurate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.loop import LoopThread

__all__ = ["FUZZED_SERVICES", "Stack", "build_store", "service_settings", "start_stack"]

FUZZED_SERVICES = ("timeseries", "vision", "logs", "graph", "tensorstream")
LOG_PATTERN = r"(blk_-?\d+)"


def _timeseries(store: Any) -> None:
    import numpy as np

    from services.core.training import chronological_split, fit_and_store
    from services.timeseries.detectors.comet import CometDetector
    from tests.conftest import TINY_COMET

    t = np.arange(2000, dtype=np.float32)
    rng = np.random.default_rng(0)
    base = np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], axis=1)
    series = (base + 0.05 * rng.standard_normal(base.shape)).astype(np.float32)
    fit_and_store(store, "timeseries", CometDetector(TINY_COMET), *chronological_split(series, 0.25))


def _vision(store: Any) -> None:
    from services.core.training import chronological_split, fit_and_store
    from services.vision.data import inspection_set
    from services.vision.detectors.multi_ad import MultiADDetector
    from tests.conftest import TINY_MULTI_AD

    images = inspection_set("brick", n_train=8, n_test=2, size=64, seed=3).train_images
    fit_and_store(store, "vision", MultiADDetector(TINY_MULTI_AD), *chronological_split(images, 0.25))


def _logs(store: Any) -> None:
    from services.core.training import chronological_split, fit_and_store
    from services.logs.data import generated_hdfs
    from services.logs.detectors.contralog import ContraLogDetector
    from tests.contract.logs_case import SMALL_CONFIGS

    config = {**SMALL_CONFIGS["logs.contralog"], "session_pattern": LOG_PATTERN}
    sessions = generated_hdfs(160, anomaly_rate=0.0, seed=5).sessions
    fit_and_store(store, "logs", ContraLogDetector(config), *chronological_split(sessions, 0.25))


def _graph(store: Any) -> None:
    from services.core.training import fit_and_store
    from services.graph.batch import union
    from services.graph.data import sbm
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
    from services.graph.experiments import calibration_split
    from tests.contract.graph_case import SMALL_CONFIGS

    data = sbm(n_nodes=300, n_snapshots=3, n_train=2, per_type=8, seed=0)
    train = union(data.snapshots[:2])
    fit_and_store(store, "graph", EgoDiffusionDetector(SMALL_CONFIGS["graph.ego_diffusion"]),
                  *calibration_split(train, 0.2, 0))


def _tensorstream(store: Any) -> None:
    from services.core.training import fit_and_store
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector
    from tests.contract.tensorstream_case import SMALL_CONFIGS, case

    train = case(0).train
    split = round(len(train) * 0.8)
    fit_and_store(store, "tensorstream", HeteroCompDetector(SMALL_CONFIGS["tensorstream.heterocomp"]),
                  train.take(slice(0, split)), train.take(slice(split, len(train))))


TRAINERS: dict[str, Callable[[Any], None]] = {
    "timeseries": _timeseries, "vision": _vision, "logs": _logs, "graph": _graph, "tensorstream": _tensorstream,
}

# Small limits, so the fuzz tests reach every limit with small messages.
LIMITS: dict[str, dict[str, Any]] = {
    "timeseries": {"max_points": 100_000, "max_series_per_request": 16},
    "vision": {"max_pixels": 1_000_000, "max_images_per_request": 4},
    "logs": {"max_session_lines": 60, "max_line_chars": 300, "max_sessions_per_request": 32,
             "max_lines_per_request": 2000, "min_fit_sessions": 10},
    "graph": {"max_nodes": 1000, "max_edges": 20_000, "max_explain_top_k": 20},
    "tensorstream": {"max_events": 20_000},
}


def build_store(root: Path, services: tuple[str, ...] = FUZZED_SERVICES) -> dict[str, float]:
    """Train each service's tiny model into ``root``; seconds spent per service."""
    import torch

    from services.core.store import ModelStore

    torch.set_num_threads(1)
    store, spent = ModelStore(root), {}
    for name in services:
        started = time.perf_counter()
        TRAINERS[name](store)
        spent[name] = time.perf_counter() - started
    return spent


def service_settings(name: str, root: Path, address: str = "127.0.0.1:0", **fields: Any) -> Any:
    """The settings of service ``name`` on ``address`` with the store ``root`` and the small :data:`LIMITS`."""
    from services.core.backends import BackendSettings
    from services.core.spec import service_spec

    cls = service_spec(name).settings_class()
    return cls(address=address, store_root=str(root), backend=BackendSettings(), **{**LIMITS[name], **fields})


@dataclass
class Stack:
    """Running services and a gateway routing all of them."""

    services: dict[str, Any]
    gateway: Any
    loop: LoopThread
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.gateway.grpc_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.gateway.http_port}"

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.services[name].port}"

    def stop(self) -> None:
        self.loop.run(self.gateway.stop())
        for service in self.services.values():
            self.loop.run(service.stop())


def start_stack(loop: LoopThread, root: Path, services: tuple[str, ...] = FUZZED_SERVICES,
                **gateway_fields: Any) -> Stack:
    """Start ``services`` (in-process, inline backend) on free ports and a gateway routing them all."""
    from gateway.app import start_gateway
    from gateway.config import GatewaySettings
    from services.core.app import start

    running = {name: loop.run(start(name, service_settings(name, root))) for name in services}
    settings = GatewaySettings(grpc_address="127.0.0.1:0", http_address="127.0.0.1:0",
                               routes={name: f"127.0.0.1:{s.port}" for name, s in running.items()}, **gateway_fields)
    return Stack(running, loop.run(start_gateway(settings)), loop)
