"""Traffic (STREAM-RL) figures: detection (coverage, FDR, power, delay) vs BH / z-score / non-graph forecaster,
control (safety rate, queue, reward) vs fixed-time / max-pressure / PPO, and gRPC per-step latency.

Usage: ``python bench/traffic.py [--quick] [--seeds 3]`` (≤ 15 min on 2 cores; ``--quick`` ≈ 4 min).
Every figure is mean ± sd over seeds; simulation seeds for training, calibration and test never overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from services.traffic.batch import SensorBatch
from services.traffic.evaluation import decision_figures, detection_figures, incident_run


def _fmt(values: list[float]) -> str:
    values = [v for v in values if np.isfinite(v)]
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "n/a"


def zscore_figures(train: SensorBatch, run, threshold: float = 3.0) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Per-segment z-score: flag a cell when any reading is ``threshold`` training sds from its mean."""
    mean, std = train.readings.mean(0), train.readings.std(0) + 1e-3
    z = np.abs((run.readings - mean) / std).max(-1)
    p_values = np.where(z > threshold, 0.0, 1.0)  # decide() with alpha flags p <= alpha
    return decision_figures(p_values, run, "alpha", 0.05)


def detection(seeds: list[int], quick: bool) -> dict[str, dict[str, list[float]]]:
    from services.traffic.defaults import DEFAULT_CONFIG, default_training_data
    from services.traffic.detectors.pu_gat import PUGATDetector

    seconds = 900.0 if quick else 1500.0
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        train, calibration, _graph = default_training_data(seconds=seconds, seeds=(
            (1000 + 10 * seed, 0.9), (1001 + 10 * seed, 1.0), (1002 + 10 * seed, 1.1)))
        run = incident_run("cologne8", seed=5000 + seed, seconds=seconds, n_incidents=3 if quick else 4)
        context = calibration.readings[-8:]
        models = {"PU-GAT+ / CRFN": PUGATDetector({**DEFAULT_CONFIG, "seed": seed}),
                  "non-graph forecaster": PUGATDetector({**DEFAULT_CONFIG, "seed": seed, "use_graph": False,
                                                         "uncertainty_attention": False, "score": "chi2"})}
        for name, model in models.items():
            model.fit(train)
            cal = model.score(calibration)
            for rule in ("by", "bh") if name.startswith("PU") else ("by",):
                figures = detection_figures(model, cal, run, rule, 0.05, 0.9, context=context)
                for key, value in figures.items():
                    rows.setdefault(f"{name} + {rule.upper()}", {}).setdefault(key, []).append(value)
        for key, value in zscore_figures(train, run).items():
            rows.setdefault("per-segment z-score (any abs z > 3, no FDR rule)", {}).setdefault(key, []).append(value)
    return rows


def control(seeds: list[int], quick: bool) -> dict[str, dict[str, list[float]]]:
    from services.traffic.control.baselines import max_pressure_actions
    from services.traffic.control.env import make_env
    from services.traffic.control.training import Padding, run_episode
    from services.traffic.defaults import train_controller

    name, seconds = "cologne1", 600 if quick else 1200
    agent, _meta = train_controller(name, seconds=seconds, seeds=(900, 901), steps=600 if quick else 1500)

    projected = [0]

    def lycon(env, obs):  # type: ignore[no-untyped-def]
        ids, padded, valid = Padding.of(env).observe(env, obs)
        choice = agent.act(padded, valid)
        projected[0] += int(choice.projected.sum())
        return dict(zip(ids, choice.action.tolist(), strict=True))

    def lycon_unfiltered(env, obs):  # type: ignore[no-untyped-def]
        ids, padded, valid = Padding.of(env).observe(env, obs)
        return dict(zip(ids, agent.act(padded, valid, filtered=False).action.tolist(), strict=True))

    from stable_baselines3 import PPO

    ppo_env = make_env(name, seconds, 950, single_agent=True)
    ppo = PPO("MlpPolicy", ppo_env, n_steps=128, batch_size=64, seed=0, verbose=0)
    ppo.learn(total_timesteps=1024 if quick else 4096)
    ppo_env.close()

    def ppo_policy(env, obs):  # type: ignore[no-untyped-def]
        return {i: int(ppo.predict(o, deterministic=True)[0]) for i, o in obs.items()}

    controllers = {"fixed-time": "fixed", "max-pressure": lambda env, obs: max_pressure_actions(env),
                   "PPO (SB3)": ppo_policy, "world-model Q, no safety filter": lycon_unfiltered,
                   "LyCon-WRL+": lycon}
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        for cname, policy in controllers.items():
            projected[0] = 0
            episode = run_episode(name, seconds, 7000 + seed, policy)
            episode.projected = projected[0]  # only LyCon-WRL+ counts filter interventions
            result = episode.summary()
            for key, value in result.items():
                rows.setdefault(cname, {}).setdefault(key, []).append(value)
    return rows


def latency(steps: int) -> dict[str, float]:
    """p50 / p95 ms of one StreamDetect snapshot + one Recommend over loopback gRPC (cologne8 model)."""
    import grpc

    from polyad.traffic.v1 import traffic_pb2 as pb
    from polyad.traffic.v1 import traffic_pb2_grpc as pb_grpc
    from services.core.app import start
    from services.core.backends import BackendSettings
    from services.core.codecs import from_numpy
    from services.core.store import ModelStore
    from services.traffic.config import TrafficSettings
    from services.traffic.defaults import train_default_model
    from services.traffic.sim.runner import simulate

    root = Path(tempfile.mkdtemp(prefix="traffic-bench-"))
    started = time.perf_counter()
    train_default_model(ModelStore(root), overrides={"train_steps": 150, "flow_steps": 100})
    train_seconds = time.perf_counter() - started
    run = simulate("cologne8", seconds=steps * 10.0, seed=77)

    async def main() -> list[float]:
        service = await start("traffic", TrafficSettings(address="127.0.0.1:0", store_root=str(root),
                                                         backend=BackendSettings()))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
                stub = pb_grpc.TrafficServiceStub(channel)
                info = await stub.GetModelInfo(pb.GetModelInfoRequest())
                ids = list(info.intersections)
                meta = json.loads(info.model.training_summary_json)["controller"]
                queue: asyncio.Queue = asyncio.Queue()
                call = stub.StreamDetect(_aiter(queue))
                times = []
                for t in range(len(run.times)):
                    began = time.perf_counter()
                    await queue.put(pb.StreamDetectRequest(stream_id="x", snapshots=pb.Snapshots(
                        readings=from_numpy(run.readings[t:t + 1]), times=from_numpy(run.times[t:t + 1]))))
                    await call.read()
                    await stub.Recommend(pb.RecommendRequest(intersections=[
                        pb.IntersectionState(id=i, phase=0, density=[0.2] * lanes, queue=[0.1] * lanes)
                        for i, lanes in zip(ids, meta["lanes"], strict=True)]))
                    times.append((time.perf_counter() - began) * 1000)
                await queue.put(None)
                return times[5:]
        finally:
            await service.stop()

    times = asyncio.run(main())
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "default_model_train_s": train_seconds}


async def _aiter(queue):  # type: ignore[no-untyped-def]
    while (item := await queue.get()) is not None:
        yield item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: detection,control,latency")
    args = parser.parse_args()
    seeds = list(range(2 if args.quick else args.seeds))
    skip = set(args.skip.split(","))
    began = time.perf_counter()
    if "detection" not in skip:
        print("\n## Detection on held-out cologne8 runs with incidents (alpha = 0.05, 90 % intervals)")
        print("| method | coverage@90% | FDR | power | delay (s) | missed / incidents |\n|---|---|---|---|---|---|")
        for name, r in detection(seeds, args.quick).items():
            print(f"| {name} | {_fmt(r.get('coverage', []))} | {_fmt(r['fdr'])} | {_fmt(r['power'])} | "
                  f"{_fmt(r['delay_s'])} | {sum(r['missed']):.0f} / {sum(r['incidents']):.0f} |", flush=True)
    if "control" not in skip:
        print("\n## Control on RESCO cologne1 (same seeds; safety = V(s') - V(s) <= 0.1 per decision)")
        print("| controller | safety rate | projected | mean queue (veh) | mean waiting (s) | reward |\n"
              "|---|---|---|---|---|---|")
        for name, r in control(seeds, args.quick).items():
            print(f"| {name} | {_fmt(r['safety_rate'])} | {_fmt(r['projection_rate'])} | {_fmt(r['mean_queue'])} | "
                  f"{_fmt(r['mean_waiting_s'])} | {_fmt(r['reward'])} |", flush=True)
    if "latency" not in skip:
        figures = latency(60 if args.quick else 200)
        print("\n## gRPC per-step latency, cologne8 (StreamDetect 1 snapshot + Recommend 8 intersections)")
        print(f"p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms; default model (reduced steps) "
              f"trained in {figures['default_model_train_s']:.0f} s")
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
