"""The sensor graph of a SUMO network: one sensor per (non-internal) edge, directed links between edges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURES", "SensorGraph", "sensor_graph"]

FEATURES: tuple[str, ...] = ("speed", "occupancy", "halting", "flow")
"""Per-sensor readings of one snapshot: mean speed (m/s), occupancy (%), halting vehicles, vehicles entered."""


@dataclass(frozen=True)
class SensorGraph:
    """Sensors ``(N,)`` and their directed adjacency ``(N, N)`` (``adjacency[i, j]``: traffic flows i → j)."""

    sensors: tuple[str, ...]
    adjacency: np.ndarray
    controlled: tuple[str, ...] = ()  # sensors entering a traffic light (incidents are placed there)

    @property
    def n(self) -> int:
        """Number of sensors."""
        return len(self.sensors)

    def neighbours(self, i: int, upstream: bool) -> list[int]:
        """Sensors one hop upstream (feeding ``i``) or downstream (fed by ``i``)."""
        column = self.adjacency[:, i] if upstream else self.adjacency[i]
        return np.flatnonzero(column).tolist()


def sensor_graph(sumo) -> SensorGraph:  # type: ignore[no-untyped-def]
    """The graph of the running simulation ``sumo`` (the libsumo module): edges linked by lane connections."""
    edges = [e for e in sumo.edge.getIDList() if not e.startswith(":")]
    index = {e: i for i, e in enumerate(edges)}
    adjacency = np.zeros((len(edges), len(edges)), dtype=bool)
    for edge in edges:
        for k in range(sumo.edge.getLaneNumber(edge)):
            for link in sumo.lane.getLinks(f"{edge}_{k}"):
                target = sumo.lane.getEdgeID(link[0])
                if target in index:
                    adjacency[index[edge], index[target]] = True
    controlled = sorted({sumo.lane.getEdgeID(lane) for tl in sumo.trafficlight.getIDList()
                         for lane in sumo.trafficlight.getControlledLanes(tl)} & set(index))
    return SensorGraph(tuple(edges), adjacency, tuple(controlled))
