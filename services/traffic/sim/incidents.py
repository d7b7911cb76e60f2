"""Incidents injected through TraCI — lane closures, stopped vehicles, demand surges — with exact labels.

An incident's label is its edge over ``[start, end)`` in simulation seconds as actually applied (a stopped
vehicle starts when a vehicle is on the edge), plus a recovery margin set by the runner. Spill-back onto
neighbouring edges is real but not labelled (it is not guaranteed to happen): flags there count as false
discoveries in the figures, which makes the reported FDR conservative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.traffic.sim.graph import SensorGraph

__all__ = ["KINDS", "Incident", "IncidentInjector", "random_incidents"]

KINDS = ("lane_closure", "stopped_vehicle", "demand_surge")


@dataclass
class Incident:
    """One incident: kind, edge, planned window, and the applied window and affected edges once run."""

    kind: str
    edge: str
    start: float
    end: float
    affected: tuple[str, ...] = ()
    applied_start: float | None = None
    applied_end: float | None = None
    _undo: dict = field(default_factory=dict, repr=False)


def random_incidents(graph: SensorGraph, rng: np.random.Generator, begin: float, end: float, n: int,
                     duration: tuple[float, float] = (240.0, 480.0)) -> list[Incident]:
    """``n`` non-overlapping incidents of random kinds on traffic-light approach edges within ``[begin, end)``."""
    pool = list(graph.controlled or graph.sensors)
    span = (end - begin) / max(n, 1)
    incidents = []
    for k in range(n):
        length = float(rng.uniform(*duration))
        start = begin + k * span + float(rng.uniform(0.0, max(span - length, 1.0)))
        incidents.append(Incident(KINDS[int(rng.integers(len(KINDS)))], str(rng.choice(pool)), start, start + length))
    return incidents


class IncidentInjector:
    """Applies and lifts incidents as simulation time passes (call :meth:`step` once per simulation step)."""

    def __init__(self, sumo, graph: SensorGraph, incidents: list[Incident], seed: int = 0) -> None:  # type: ignore[no-untyped-def]
        self.sumo, self.graph, self.incidents = sumo, graph, incidents
        self.rng = np.random.default_rng(seed)
        self.index = {s: i for i, s in enumerate(graph.sensors)}
        self._surge_count = 0
        self._route_count = 0
        for incident in incidents:
            if incident.edge not in self.index:
                raise ValueError(f"incident edge {incident.edge!r} is not a sensor of the network")

    def step(self, now: float) -> None:
        """Start due incidents, lift finished ones, feed running surges."""
        for incident in self.incidents:
            if incident.applied_start is None and now >= incident.start:
                self._start(incident, now)
            elif incident.applied_start is not None and incident.applied_end is None:
                if now >= incident.end:
                    self._stop(incident, now)
                elif incident.kind == "demand_surge":
                    self._surge(incident, now)

    def finish(self, now: float) -> None:
        """Lift every running incident (end of the run)."""
        for incident in self.incidents:
            if incident.applied_start is not None and incident.applied_end is None:
                self._stop(incident, now)

    def _start(self, incident: Incident, now: float) -> None:
        sumo, edge = self.sumo, incident.edge
        if incident.kind == "lane_closure":
            lanes = sumo.edge.getLaneNumber(edge)
            closed = [f"{edge}_{k}" for k in range(lanes)] if lanes == 1 else [f"{edge}_0"]
            incident._undo["speeds"] = {lane: sumo.lane.getMaxSpeed(lane) for lane in closed}
            for lane in closed:  # a closed lane is crept through at walking pace (no deadlock, queues build)
                sumo.lane.setMaxSpeed(lane, 1.0)
        elif incident.kind == "stopped_vehicle":
            vehicles = sumo.edge.getLastStepVehicleIDs(edge)
            if not vehicles:
                return  # wait for a vehicle; the label starts when one stops
            vehicle = vehicles[-1]
            sumo.vehicle.setSpeed(vehicle, 0.0)
            incident._undo["vehicle"] = vehicle
        elif incident.kind == "demand_surge":
            incident._undo["targets"] = self._routes(edge)
        incident.applied_start = now
        incident.affected = (incident.edge,)

    def _stop(self, incident: Incident, now: float) -> None:
        sumo = self.sumo
        for lane, speed in incident._undo.get("speeds", {}).items():
            sumo.lane.setMaxSpeed(lane, speed)
        vehicle = incident._undo.get("vehicle")
        if vehicle is not None and vehicle in sumo.vehicle.getIDList():
            sumo.vehicle.setSpeed(vehicle, -1.0)
        incident.applied_end = now

    def _routes(self, edge: str) -> list[str]:
        """Route ids from ``edge`` to downstream edges two hops away (for surge vehicles)."""
        i = self.index[edge]
        targets = {j for d in self.graph.neighbours(i, False) for j in self.graph.neighbours(d, False)} - {i}
        routes = []
        for j in sorted(targets) or self.graph.neighbours(i, False):
            path = self.sumo.simulation.findRoute(edge, self.graph.sensors[j]).edges
            if path:
                self._route_count += 1
                route_id = f"surge_route{self._route_count}"
                self.sumo.route.add(route_id, list(path))
                routes.append(route_id)
        return routes

    def _surge(self, incident: Incident, now: float) -> None:
        routes = incident._undo.get("targets") or []
        if routes and self.rng.random() < 0.5:  # ≈ 1800 extra vehicles/h entering the edge
            self._surge_count += 1
            self.sumo.vehicle.add(f"surge{self._surge_count}", str(self.rng.choice(routes)), departLane="best",
                                  departSpeed="max")
