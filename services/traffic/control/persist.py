"""LyCon-WRL+ weights inside a model version: arrays under ``controller.`` plus a JSON description."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["agent_from_state", "agent_state", "describe"]


def describe(agent: Any, ids: tuple[str, ...], phases: tuple[int, ...], lanes: tuple[int, ...], network: str,
             members: int, hidden: int) -> dict[str, Any]:
    """The JSON part (kept in the model's training summary under ``controller``)."""
    return {"network": network, "intersections": list(ids), "phases": list(phases), "lanes": list(lanes),
            "max_phases": agent.max_phases, "max_lanes": agent.max_lanes, "delta": agent.delta,
            "kappa": agent.kappa, "members": members, "hidden": hidden}


def agent_state(agent: Any) -> dict[str, np.ndarray]:
    """The agent's networks as arrays (safetensors-ready)."""
    return {k: v.detach().numpy().copy() for k, v in agent.nets.state_dict().items()}


def agent_from_state(state: dict[str, np.ndarray], meta: dict[str, Any]) -> Any:
    """Rebuild the agent from :func:`agent_state` arrays and :func:`describe` output."""
    import torch

    from services.traffic.control.lycon import LyConAgent, LyConNets

    obs_dim = meta["max_phases"] + 1 + 2 * meta["max_lanes"]
    nets = LyConNets(obs_dim, meta["max_phases"], meta["max_lanes"], meta["hidden"], meta["members"])
    nets.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return LyConAgent(nets, meta["max_phases"], meta["max_lanes"], meta["delta"], meta["kappa"])
