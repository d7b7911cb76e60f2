"""Run a RESCO scenario in-process (libsumo) and record sensor snapshots, with optional incidents.

libsumo holds one simulation per process: runs are serialized by a lock and always closed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from services.traffic.sim.graph import FEATURES, SensorGraph, sensor_graph
from services.traffic.sim.incidents import Incident, IncidentInjector
from services.traffic.sim.networks import network

__all__ = ["SimRun", "libsumo", "network_graph", "simulate", "start_sumo"]

_LOCK = threading.Lock()


def libsumo():  # type: ignore[no-untyped-def]
    """The libsumo module (in-process SUMO), imported lazily with a message naming the extra.

    ``LIBSUMO_AS_TRACI`` is set and ``traci`` imported first, so that ``traci`` (and ``sumo-rl``, which uses it)
    is libsumo too; importing libsumo before traci would leave traci the socket client.
    """
    os.environ.setdefault("LIBSUMO_AS_TRACI", "quiet")
    try:
        # isort: off
        import traci  # noqa: F401  (first: with the variable set, traci becomes libsumo)
        import libsumo as sumo
        # isort: on
    except ImportError as error:  # pragma: no cover - depends on the extra
        raise ImportError("the traffic simulation needs `pip install polyad[traffic]` (eclipse-sumo, libsumo)"
                          ) from error
    return sumo


@dataclass(frozen=True)
class SimRun:
    """One recorded run: ``times`` ``(T,)`` s, ``readings`` ``(T, N, F)`` float32, ``labels`` ``(T, N)`` int8."""

    graph: SensorGraph
    times: np.ndarray
    readings: np.ndarray
    labels: np.ndarray
    incidents: tuple[Incident, ...]
    network: str
    seed: int
    scale: float


def start_sumo(name: str, seed: int, scale: float = 1.0, extra: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """Start scenario ``name`` in libsumo at its RESCO begin time; returns the module (caller closes it)."""
    sumo, net = libsumo(), network(name)
    sumo.start(["sumo", "-n", str(net.net_file), "-r", str(net.route_file), "--begin", str(net.begin),
                "--seed", str(seed), "--scale", f"{scale:.3f}", "--no-step-log", "true", "--no-warnings", "true",
                "--time-to-teleport", "300", "--random", "false", *extra])
    return sumo


def network_graph(name: str) -> SensorGraph:
    """The sensor graph of scenario ``name`` (starts and closes SUMO)."""
    with _LOCK:
        sumo = start_sumo(name, 0)
        try:
            return sensor_graph(sumo)
        finally:
            sumo.close()


def _labels(graph: SensorGraph, times: np.ndarray, interval: float, incidents: list[Incident],
            recovery: float) -> np.ndarray:
    """``(T, N)`` int8: 1 where a snapshot's interval overlaps an applied incident (plus recovery) on its edges."""
    labels = np.zeros((times.size, graph.n), dtype=np.int8)
    index = {s: i for i, s in enumerate(graph.sensors)}
    for incident in incidents:
        if incident.applied_start is None:
            continue
        end = (incident.applied_end if incident.applied_end is not None else times[-1]) + recovery
        rows = (times > incident.applied_start) & (times - interval < end)
        for edge in incident.affected:
            labels[rows, index[edge]] = 1
    return labels


def simulate(name: str = "cologne8", seconds: float = 1800.0, seed: int = 0, scale: float = 1.0,
             interval: float = 10.0, warmup: float = 300.0, incidents: list[Incident] | None = None,
             recovery: float = 60.0) -> SimRun:
    """Simulate ``warmup + seconds`` and record one snapshot per ``interval`` seconds after the warm-up.

    Readings average each step's edge mean speed, occupancy and halting count over the interval; flow counts
    vehicles that entered the edge during it. Incident times are absolute simulation seconds.
    """
    incidents = list(incidents or [])
    with _LOCK:
        sumo = start_sumo(name, seed, scale)
        try:
            graph = sensor_graph(sumo)
            injector = IncidentInjector(sumo, graph, incidents, seed)
            begin = sumo.simulation.getTime()
            while sumo.simulation.getTime() < begin + warmup:
                sumo.simulationStep()
            steps = max(1, round(interval / sumo.simulation.getDeltaT()))
            n_snapshots = int(seconds // interval)
            times = np.zeros(n_snapshots)
            readings = np.zeros((n_snapshots, graph.n, len(FEATURES)), dtype=np.float32)
            previous = [set(sumo.edge.getLastStepVehicleIDs(e)) for e in graph.sensors]
            for t in range(n_snapshots):
                acc = np.zeros((graph.n, len(FEATURES)))
                for _ in range(steps):
                    injector.step(sumo.simulation.getTime())
                    sumo.simulationStep()
                    for i, edge in enumerate(graph.sensors):
                        ids = set(sumo.edge.getLastStepVehicleIDs(edge))
                        acc[i, 0] += sumo.edge.getLastStepMeanSpeed(edge)
                        acc[i, 1] += sumo.edge.getLastStepOccupancy(edge) * 100.0
                        acc[i, 2] += sumo.edge.getLastStepHaltingNumber(edge)
                        acc[i, 3] += len(ids - previous[i])
                        previous[i] = ids
                acc[:, :3] /= steps
                readings[t] = acc
                times[t] = sumo.simulation.getTime()
            injector.finish(sumo.simulation.getTime())
        finally:
            sumo.close()
    labels = _labels(graph, times, interval, incidents, recovery)
    return SimRun(graph, times, readings, labels, tuple(incidents), name, seed, scale)
