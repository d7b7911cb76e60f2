"""Baseline signal controllers: max-pressure (fixed-time is ``sumo-rl``'s ``fixed_ts`` program)."""

from __future__ import annotations

__all__ = ["max_pressure_actions"]


def max_pressure_actions(env) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The green phase of each intersection with the largest pressure: Σ over its green movements of
    (halting vehicles on the incoming lane − halting vehicles on the outgoing lane)."""
    sumo = env.sumo
    actions = {}
    for ts, signal in env.traffic_signals.items():
        links = sumo.trafficlight.getControlledLinks(ts)
        lanes = {lane for link in links for incoming, outgoing, _ in link for lane in (incoming, outgoing)}
        halting = {lane: sumo.lane.getLastStepHaltingNumber(lane) for lane in lanes}
        best, best_pressure = 0, float("-inf")
        for p, phase in enumerate(signal.green_phases):
            pressure = 0.0
            for k, state in enumerate(phase.state):
                if state in "Gg" and k < len(links):
                    for incoming, outgoing, _ in links[k]:
                        pressure += halting[incoming] - halting[outgoing]
            if pressure > best_pressure:
                best, best_pressure = p, pressure
        actions[ts] = best
    return actions
