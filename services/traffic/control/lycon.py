"""LyCon-WRL+: a world-model Q-learning signal controller behind a Lyapunov safety filter.

* World model: an ensemble of MLPs predicting each incoming lane's next queue from the observation and the phase.
* Policy: a Q-network trained on real transitions plus transitions imagined by the world model (Dyna).
* Safety: ``V(s) = Σ_l q_l²``. A phase is *certified* when the ensemble's upper estimate ``mean + κ·std`` of
  ``V(s')`` stays within ``V(s) + δ``. The policy's favourite certified phase is taken; when none is certified
  the phase with the lowest upper estimate is taken (projection onto the least-violating action).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["LyConAgent", "LyConNets", "SafeChoice"]


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                         nn.Linear(hidden, outputs))


class LyConNets(nn.Module):
    """World-model ensemble ``(obs, phase) → next queues`` and the Q-network ``obs → (P,)`` values."""

    def __init__(self, obs_dim: int, phases: int, lanes: int, hidden: int = 64, members: int = 5) -> None:
        super().__init__()
        self.phases, self.lanes = phases, lanes
        self.world = nn.ModuleList(_mlp(obs_dim + phases, hidden, lanes) for _ in range(members))
        self.q = _mlp(obs_dim, hidden, phases)

    def predict_queues(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Next queues ``(K, B, L)`` in [0, 1] for observations ``(B, D)`` and phase indices ``(B,)``."""
        x = torch.cat([obs, nn.functional.one_hot(action, self.phases).float()], dim=-1)
        return torch.stack([torch.sigmoid(member(x)) for member in self.world])


@dataclass(frozen=True)
class SafeChoice:
    """Filtered decisions for ``B`` intersections (arrays ``(B,)``; ``q_values`` ``(B, P)``)."""

    action: np.ndarray
    preferred: np.ndarray
    safe: np.ndarray
    projected: np.ndarray
    lyapunov: np.ndarray
    predicted: np.ndarray
    bound: np.ndarray
    q_values: np.ndarray


class LyConAgent:
    """Acts on padded observations ``(B, D)`` with valid-phase masks ``(B, P)``."""

    def __init__(self, nets: LyConNets, max_phases: int, max_lanes: int, delta: float = 0.1,
                 kappa: float = 1.0) -> None:
        self.nets, self.max_phases, self.max_lanes = nets.eval(), max_phases, max_lanes
        self.delta, self.kappa = delta, kappa

    def queues(self, obs: np.ndarray) -> np.ndarray:
        """The queue part ``(B, L)`` of padded observations."""
        start = self.max_phases + 1 + self.max_lanes
        return obs[:, start: start + self.max_lanes]

    def act(self, obs: np.ndarray, valid: np.ndarray, filtered: bool = True) -> SafeChoice:
        """The safe phase for each row (``filtered=False`` returns the unconstrained policy's choice)."""
        b, p = valid.shape
        v_now = (self.queues(obs).astype(np.float64) ** 2).sum(-1)
        with torch.no_grad():
            x = torch.from_numpy(obs.astype(np.float32))
            q = self.nets.q(x).numpy()
            phases = torch.arange(p).repeat(b)
            pred = self.nets.predict_queues(x.repeat_interleave(p, 0), phases).numpy()  # (K, B*P, L)
        v_pred = (pred.astype(np.float64) ** 2).sum(-1)  # (K, B*P)
        upper = (v_pred.mean(0) + self.kappa * v_pred.std(0)).reshape(b, p)
        upper = np.where(valid, upper, np.inf)
        q = np.where(valid, q, -np.inf)
        preferred = q.argmax(1)
        bound = v_now + self.delta
        certified = upper <= bound[:, None]
        if filtered:
            safe_q = np.where(certified, q, -np.inf)
            action = np.where(certified.any(1), safe_q.argmax(1), upper.argmin(1))
        else:
            action = preferred
        rows = np.arange(b)
        return SafeChoice(action=action, preferred=preferred, safe=certified[rows, action],
                          projected=action != preferred, lyapunov=v_now, predicted=upper[rows, action], bound=bound,
                          q_values=np.where(valid, q, 0.0).astype(np.float32))
