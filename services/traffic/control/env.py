"""The signal-control environment: ``sumo-rl``'s SumoEnvironment on a RESCO network, in-process (libsumo).

Every controller sees the same per-intersection observation (``sumo-rl`` default: green-phase one-hot, a
min-green flag, incoming-lane densities, incoming-lane queues) and gets the same reward (``-`` total queue).
Observations are padded to the widest intersection so one network serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.traffic.sim.networks import network
from services.traffic.sim.runner import libsumo

__all__ = ["IntersectionLayout", "layout_of", "lyapunov", "make_env", "pad_observation"]


def make_env(name: str, seconds: int, seed: int, delta_time: int = 5, single_agent: bool = False,
             fixed: bool = False, scale: float = 1.0):  # type: ignore[no-untyped-def]
    """A ``sumo_rl.SumoEnvironment`` for RESCO network ``name`` starting at its RESCO begin time."""
    libsumo()  # sets LIBSUMO_AS_TRACI and imports traci as libsumo before sumo-rl reads it: SUMO in-process
    try:
        from sumo_rl import SumoEnvironment
    except ImportError as error:  # pragma: no cover - depends on the extra
        raise ImportError("signal control needs `pip install polyad[traffic]` (sumo-rl, libsumo)") from error
    net = network(name)
    return SumoEnvironment(net_file=str(net.net_file), route_file=str(net.route_file), begin_time=int(net.begin),
                           num_seconds=seconds, delta_time=delta_time, yellow_time=2, min_green=5,
                           single_agent=single_agent, fixed_ts=fixed, sumo_seed=seed, reward_fn="queue",
                           sumo_warnings=False, add_system_info=True, add_per_agent_info=False,
                           additional_sumo_cmd=f"--scale {scale:.3f}")


@dataclass(frozen=True)
class IntersectionLayout:
    """Sizes of one intersection's observation: green phases and incoming lanes."""

    phases: int
    lanes: int


def layout_of(env) -> dict[str, IntersectionLayout]:  # type: ignore[no-untyped-def]
    """Layouts of every intersection of a started environment."""
    return {ts: IntersectionLayout(signal.num_green_phases, len(signal.lanes))
            for ts, signal in env.traffic_signals.items()}


def pad_observation(obs: np.ndarray, layout: IntersectionLayout, max_phases: int, max_lanes: int) -> np.ndarray:
    """``[phase one-hot, min_green, density, queue]`` padded to ``(max_phases + 1 + 2 * max_lanes,)``."""
    p, n = layout.phases, layout.lanes
    out = np.zeros(max_phases + 1 + 2 * max_lanes, dtype=np.float32)
    out[:p] = obs[:p]
    out[max_phases] = obs[p]
    out[max_phases + 1: max_phases + 1 + n] = obs[p + 1: p + 1 + n]
    out[max_phases + 1 + max_lanes: max_phases + 1 + max_lanes + n] = obs[p + 1 + n: p + 1 + 2 * n]
    return out


def lyapunov(queue: np.ndarray) -> np.ndarray:
    """``V = Σ_l q_l²`` over the (padded) lane queues ``(..., L)`` in [0, 1]."""
    return (np.asarray(queue, dtype=np.float64) ** 2).sum(-1)
