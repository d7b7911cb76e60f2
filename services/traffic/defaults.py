"""The default traffic model of the embedded suite: PU-GAT+ / CRFN on simulated RESCO cologne8 runs, with a
LyCon-WRL+ controller trained on the same network."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.core.store import ModelStore, StoredModel
from services.core.training import fit_and_store
from services.traffic.batch import SensorBatch
from services.traffic.config import SERVICE

__all__ = ["DEFAULT_CONFIG", "DEFAULT_NETWORK", "default_training_data", "train_controller", "train_default_model"]

DEFAULT_NETWORK = "cologne8"
DEFAULT_CONFIG: dict[str, Any] = {"lags": 6, "hidden": 32, "train_steps": 400, "flow_steps": 300}
"""One minute of 10 s history; step counts sized to train in well under a minute on 2 cores."""
TRAIN_SEEDS = ((1000, 0.9), (1001, 1.0), (1002, 1.1))
"""(SUMO seed, demand scale) of the normal runs: demand varies by ±10 % across them."""


def default_training_data(network: str = DEFAULT_NETWORK, seconds: float = 1500.0, seeds=TRAIN_SEEDS
                          ) -> tuple[SensorBatch, SensorBatch, Any]:  # type: ignore[no-untyped-def]
    """(train, calibration, graph): all runs but the last joined for training; the last run calibrates."""
    from services.traffic.sim.runner import simulate

    runs = [simulate(network, seconds=seconds, seed=seed, scale=scale) for seed, scale in seeds]
    train_runs = runs[:-1]
    readings = np.concatenate([r.readings for r in train_runs])
    times = np.arange(len(readings), dtype=np.float64) * 10.0
    breaks = tuple(np.cumsum([len(r.readings) for r in train_runs])[:-1].tolist())
    graph = runs[0].graph
    train = SensorBatch(readings, times, adjacency=graph.adjacency, breaks=breaks)
    last = runs[-1]
    return train, SensorBatch(last.readings, last.times), graph


def train_controller(network: str = DEFAULT_NETWORK, seconds: int = 900, seeds: tuple[int, ...] = (2000,),
                     steps: int = 400, hidden: int = 32, members: int = 3) -> tuple[Any, dict[str, Any]]:
    """(agent, description): LyCon-WRL+ fitted on exploration runs of ``network``."""
    from services.traffic.control.env import make_env
    from services.traffic.control.persist import describe
    from services.traffic.control.training import Padding, collect, fit_lycon

    env = make_env(network, 10, seeds[0])
    try:
        env.reset()
        pad = Padding.of(env)
    finally:
        env.close()
    data = collect(network, seconds, list(seeds))
    agent = fit_lycon(data, pad.max_phases, pad.max_lanes, steps=steps, hidden=hidden, members=members)
    return agent, describe(agent, pad.ids, pad.phases, pad.lanes, network, members, hidden)


def train_default_model(store: ModelStore, progress: bool = False, overrides: dict[str, Any] | None = None
                        ) -> StoredModel:
    """Simulate three normal cologne8 runs, fit PU-GAT+ / CRFN, train LyCon-WRL+, store one version."""
    from services.traffic.control.persist import agent_state
    from services.traffic.detectors.pu_gat import PUGATDetector

    train, calibration, graph = default_training_data()
    config = {**DEFAULT_CONFIG, "sensors": list(graph.sensors), "show_progress": progress, **(overrides or {})}
    detector = PUGATDetector(config)
    agent, meta = train_controller()
    detector.attach_controller(agent_state(agent), meta)
    return fit_and_store(store, SERVICE, detector, train, calibration)
