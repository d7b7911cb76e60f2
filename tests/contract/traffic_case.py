"""Contract case of the traffic modality: SUMO RESCO cologne1 (10 road sensors), incidents injected via TraCI."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "traffic.pu_gat": {"lags": 4, "hidden": 16, "embed": 4, "train_steps": 80, "flow_steps": 80, "flow_hidden": 16,
                       "flow_layers": 2, "max_calibration": 4000},
}


@cache
def recorded(seed: int) -> tuple[Any, Any, Any]:
    """(normal run, incident run, graph) on cologne1: 20 + 15 minutes of 10 s snapshots (≈ 2 s to simulate)."""
    from services.traffic.sim.incidents import Incident
    from services.traffic.sim.runner import simulate

    normal = simulate("cologne1", seconds=1200.0, seed=seed, scale=1.2)
    graph = normal.graph
    begin = 25200.0 + 300.0
    edges = graph.controlled
    incidents = [Incident("stopped_vehicle", edges[0], begin + 120, begin + 360),
                 Incident("lane_closure", edges[min(1, len(edges) - 1)], begin + 480, begin + 720)]
    test = simulate("cologne1", seconds=900.0, seed=seed + 50, scale=1.2, incidents=incidents)
    return normal, test, graph


def case(seed: int) -> ContractCase:
    """Train on a normal run; score a run with a stopped vehicle and a lane closure (cells labelled exactly)."""
    from services.traffic.batch import SensorBatch, head

    normal, test, graph = recorded(seed)
    train = SensorBatch(normal.readings, normal.times, adjacency=graph.adjacency)
    batch = SensorBatch(test.readings, test.times, context=normal.readings[-8:])
    return ContractCase(train, batch, test.labels.reshape(-1).astype(np.int8), min_auroc=0.7, head=head)
