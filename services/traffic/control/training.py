"""Train LyCon-WRL+ on the simulator, and run any controller for an episode with its safety measured.

Safety is judged on the true next state: a decision step of an intersection is *safe* when
``V(s') - V(s) <= delta`` (``V = Σ_l q_l²`` over its incoming-lane queues). It is reported beside the reward,
never folded into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.traffic.control.env import layout_of, lyapunov, make_env, pad_observation

__all__ = ["EpisodeResult", "Padding", "collect", "fit_lycon", "run_episode"]


@dataclass(frozen=True)
class Padding:
    """Intersections in order with their layouts, and the padded sizes."""

    ids: tuple[str, ...]
    phases: tuple[int, ...]
    lanes: tuple[int, ...]
    max_phases: int
    max_lanes: int

    @classmethod
    def of(cls, env: Any) -> Padding:
        layouts = layout_of(env)
        ids = tuple(sorted(layouts))
        return cls(ids, tuple(layouts[i].phases for i in ids), tuple(layouts[i].lanes for i in ids),
                   max(layouts[i].phases for i in ids), max(layouts[i].lanes for i in ids))

    @property
    def obs_dim(self) -> int:
        return self.max_phases + 1 + 2 * self.max_lanes

    def observe(self, env: Any, obs: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(ids, padded observations ``(B, D)``, valid-phase masks ``(B, P)``) of the intersections that act."""
        layouts = layout_of(env)
        ids = [i for i in self.ids if i in obs]
        padded = np.stack([pad_observation(obs[i], layouts[i], self.max_phases, self.max_lanes) for i in ids])
        valid = np.arange(self.max_phases)[None] < np.array([layouts[i].phases for i in ids])[:, None]
        return ids, padded, valid


@dataclass
class EpisodeResult:
    """Per-episode control figures."""

    reward: float = 0.0
    queue: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    safe_steps: int = 0
    steps: int = 0
    projected: int = 0

    def summary(self) -> dict[str, float]:
        return {"reward": self.reward, "mean_queue": float(np.mean(self.queue)) if self.queue else 0.0,
                "mean_waiting_s": float(np.mean(self.waiting)) if self.waiting else 0.0,
                "safety_rate": self.safe_steps / max(self.steps, 1), "projection_rate": self.projected / max(
                    self.steps, 1), "decisions": float(self.steps)}


Policy = Callable[[Any, dict[str, np.ndarray]], dict[str, int] | None]


def run_episode(name: str, seconds: int, seed: int, policy: Policy | str, delta: float = 0.1,
                scale: float = 1.0, on_transition: Callable[..., None] | None = None) -> EpisodeResult:
    """Run ``policy`` (a callable, ``"fixed"`` or ``"random"``) for ``seconds``; safety judged per decision."""
    env = make_env(name, seconds, seed, fixed=policy == "fixed", scale=scale)
    rng = np.random.default_rng(seed)
    result = EpisodeResult()
    try:
        obs = env.reset()
        pad = Padding.of(env)
        done = False
        while not done:
            if policy == "fixed":
                actions = None
            elif policy == "random":
                actions = {i: int(rng.integers(p)) for i, p in zip(pad.ids, pad.phases, strict=True) if i in obs}
            else:
                actions = policy(env, obs)
            before = {i: pad.observe(env, {i: o})[1][0] for i, o in obs.items()}
            obs, rewards, dones, info = env.step(actions)
            done = dones["__all__"]
            result.reward += float(sum(rewards.values()))
            result.queue.append(float(info.get("system_total_stopped", 0.0)))
            result.waiting.append(float(info.get("system_mean_waiting_time", 0.0)))
            for i, o in obs.items():
                if i not in before:
                    continue
                after = pad.observe(env, {i: o})[1][0]
                start = pad.max_phases + 1 + pad.max_lanes
                v0, v1 = lyapunov(before[i][start:]), lyapunov(after[start:])
                result.steps += 1
                result.safe_steps += int(v1 - v0 <= delta)
                if on_transition is not None and actions is not None and i in actions:
                    on_transition(before[i], int(actions[i]), after, float(rewards.get(i, 0.0)))
    finally:
        env.close()
    return result


def collect(name: str, seconds: int, seeds: list[int], scale: float = 1.0) -> dict[str, np.ndarray]:
    """Exploration transitions (half max-pressure, half random phases) from ``seeds``: obs, action, next, reward."""
    from services.traffic.control.baselines import max_pressure_actions

    rows: dict[str, list] = {"obs": [], "action": [], "next": [], "reward": []}
    rng = np.random.default_rng(seeds[0])

    def explore(env: Any, obs: dict[str, np.ndarray]) -> dict[str, int]:
        pressure = max_pressure_actions(env)
        pad = Padding.of(env)
        phases = dict(zip(pad.ids, pad.phases, strict=True))
        return {i: pressure[i] if rng.random() < 0.5 else int(rng.integers(phases[i])) for i in obs}

    def keep(obs: np.ndarray, action: int, nxt: np.ndarray, reward: float) -> None:
        for key, value in zip(rows, (obs, action, nxt, reward), strict=True):
            rows[key].append(value)

    for seed in seeds:
        run_episode(name, seconds, seed, explore, scale=scale, on_transition=keep)
    return {k: np.asarray(v, dtype=np.int64 if k == "action" else np.float32) for k, v in rows.items()}


def fit_lycon(data: dict[str, np.ndarray], max_phases: int, max_lanes: int, steps: int = 1500,
              hidden: int = 64, members: int = 5, gamma: float = 0.9, seed: int = 0, delta: float = 0.1,
              kappa: float = 1.0) -> Any:
    """Fit the world-model ensemble (bootstrapped) and the Q-network on real + imagined transitions (Dyna)."""
    import torch

    from services.traffic.control.lycon import LyConAgent, LyConNets

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # small MLPs: one thread is fastest and spins nothing on shared cores
    rng = np.random.default_rng(seed)
    obs, action = torch.from_numpy(data["obs"]), torch.from_numpy(data["action"])
    nxt, reward = torch.from_numpy(data["next"]), torch.from_numpy(data["reward"])
    n, d = obs.shape
    start = max_phases + 1 + max_lanes
    nets = LyConNets(d, max_phases, max_lanes, hidden, members)
    target = LyConNets(d, max_phases, max_lanes, hidden, members)
    world_opt = torch.optim.Adam(nets.world.parameters(), lr=3e-3)
    q_opt = torch.optim.Adam(nets.q.parameters(), lr=1e-3)
    boot = [torch.from_numpy(rng.integers(0, n, n)) for _ in range(members)]
    valid_phase = obs[:, :max_phases].sum(0) > 0  # phases ever seen
    for step in range(steps):
        pick = [b[torch.from_numpy(rng.integers(0, n, 128))] for b in boot]
        loss = sum(((torch.sigmoid(m(torch.cat([obs[p], torch.nn.functional.one_hot(action[p], max_phases).float()],
                                                -1))) - nxt[p, start:start + max_lanes]) ** 2).mean()
                   for m, p in zip(nets.world, pick, strict=True))
        world_opt.zero_grad()
        loss.backward()
        world_opt.step()
        if step % 100 == 0:
            target.load_state_dict(nets.state_dict())
        real = torch.from_numpy(rng.integers(0, n, 128))
        s, a, s2, r = obs[real], action[real], nxt[real], reward[real]
        with torch.no_grad():  # imagined transitions: real states, random phases, one ensemble member's outcome
            a_img = torch.from_numpy(rng.integers(0, max_phases, 128))
            member = nets.world[int(rng.integers(members))]
            q_img = torch.sigmoid(member(torch.cat([s, torch.nn.functional.one_hot(a_img, max_phases).float()], -1)))
            s_img = s.clone()
            s_img[:, :max_phases] = torch.nn.functional.one_hot(a_img, max_phases).float()
            s_img[:, start:start + max_lanes] = q_img
            r_img = -q_img.sum(-1) * (r.abs().mean() / s2[:, start:].sum(-1).mean().clamp_min(1e-6))
        states, acts = torch.cat([s, s]), torch.cat([a, a_img])
        nexts, rews = torch.cat([s2, s_img]), torch.cat([r, r_img])
        with torch.no_grad():
            future = target.q(nexts).masked_fill(~valid_phase, -1e9).max(-1).values
            goal = rews + gamma * future
        q_loss = ((nets.q(states).gather(1, acts[:, None])[:, 0] - goal) ** 2).mean()
        q_opt.zero_grad()
        q_loss.backward()
        torch.nn.utils.clip_grad_norm_(nets.q.parameters(), 5.0)
        q_opt.step()
    return LyConAgent(nets, max_phases, max_lanes, delta, kappa)
