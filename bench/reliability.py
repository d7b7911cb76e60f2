"""Load and faults through the gateway, measured on loopback: sustained load, kill -9, a hung service, Fit killed.

Every service runs as its own process (``python -m services.core.app <name>``, env ``POLYAD_<NAME>_ADDRESS`` /
``POLYAD_<NAME>_STORE_ROOT``), and so does the gateway (``python -m gateway.app``); the store holds the tiny
models of ``tests/fuzz/stack.py``. The load generator is our own asyncio gRPC client (``grpc.aio``), not
locust: locust's gevent workers monkeypatch sockets, which grpcio does not support, and its REST-only
users would skip the gRPC path every backend team uses; an open-loop asyncio client sends at a fixed rate
(so a slow server cannot slow the offered load down, unlike a closed loop) and records every latency.

Phases (default ≈ 4–6 min on 2 cores):
  1. saturation: each modality alone, closed loop (4 in flight) → its saturation rate;
  2. sustained: every modality at once, open loop at its share of the saturation rate, ``--duration`` s;
  3. kill -9 the logs service under load, restart it at once (as ``polyad up``'s supervisor does) →
     time to SERVING, requests failed, the other modalities' errors and p99;
  4. a hung service (SIGSTOP vision) under load → the other modalities' p50/p99 against phase 2;
  5. kill -9 the timeseries service during a ``Fit`` → the store still loads, LATEST is the old version,
     no partial version is visible, the restarted service answers with the old version;
  6. kill -9 one of two Ray Serve replicas (time-series service on the Ray backend, behind its own gateway)
     under load → time until Serve runs two replicas again, requests failed and their codes.
``--long`` also runs the fuzz suite with 500 examples per test (``POLYAD_FUZZ_EXAMPLES``).

Run: ``python bench/reliability.py [--duration 60] [--long] [--no-ray | --ray-only]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import _common  # noqa: F401
import grpc
import numpy as np
from _common import ROOT, print_table
from grpc import aio

MODALITIES = ("timeseries", "vision", "logs", "graph", "tensorstream")
GATEWAY_DETECT = "/polyad.gateway.v1.GatewayService/Detect"
GATEWAY_TIMEOUT_S = 5.0


@dataclass
class Process:
    name: str
    address: str
    env: dict[str, str]
    argv: list[str]
    proc: subprocess.Popen | None = None

    def start(self, log_dir: Path) -> None:
        log = open(log_dir / f"{self.name}.log", "ab")  # noqa: SIM115  (kept open for the child)
        self.proc = subprocess.Popen(self.argv, env={**os.environ, **self.env}, stdout=log, stderr=log, cwd=ROOT)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_process(name: str, store: Path) -> Process:
    address = f"127.0.0.1:{_free_port()}"
    prefix = f"POLYAD_{name.upper()}_"
    env = {f"{prefix}ADDRESS": address, f"{prefix}STORE_ROOT": str(store), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    return Process(name, address, env, [sys.executable, "-m", "services.core.app", name])


def gateway_process(routes: dict[str, str]) -> Process:
    address = f"127.0.0.1:{_free_port()}"
    env = {"POLYAD_GATEWAY_GRPC_ADDRESS": address, "POLYAD_GATEWAY_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
           "POLYAD_GATEWAY_ROUTES": json.dumps(routes), "POLYAD_GATEWAY_DEFAULT_TIMEOUT_S": str(GATEWAY_TIMEOUT_S),
           "PYTHONPATH": str(ROOT)}
    return Process("gateway", address, env, [sys.executable, "-m", "gateway.app"])


async def serving(address: str, service: str, timeout: float) -> float | None:
    """Seconds until ``service`` answers SERVING at ``address`` (None after ``timeout``)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    started = time.perf_counter()
    async with aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.perf_counter() - started < timeout:
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=0.5)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return time.perf_counter() - started
            except aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    return None


def payloads() -> dict[str, bytes]:
    """One serialized gateway DetectRequest per modality (the fuzz suite's valid seeds)."""
    from google.protobuf import any_pb2

    from gateway.routing import PAYLOAD_ARMS
    from polyad.gateway.v1 import gateway_pb2
    from tests.fuzz.messages import seeds

    out = {}
    for name in MODALITIES:
        message = seeds(name)["Detect"]
        if name in PAYLOAD_ARMS:
            request = gateway_pb2.DetectRequest(**{name: message})
        else:
            packed = any_pb2.Any()
            packed.Pack(message)
            request = gateway_pb2.DetectRequest(other=packed)
        out[name] = request.SerializeToString()
    return out


@dataclass
class Record:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0

    def add(self, seconds: float, code: grpc.StatusCode) -> None:
        self.sent += 1
        if code is grpc.StatusCode.OK:
            self.latencies.append(seconds)
        else:
            self.errors[code.name] = self.errors.get(code.name, 0) + 1

    def row(self, name: str, wall: float) -> list[str]:
        lat = np.asarray(self.latencies) * 1000 if self.latencies else np.asarray([np.nan])
        errors = sum(self.errors.values())
        detail = ", ".join(f"{k}×{v}" for k, v in sorted(self.errors.items()))
        return [name, str(self.sent), f"{len(self.latencies) / wall:.1f}", f"{np.percentile(lat, 50):.1f}",
                f"{np.percentile(lat, 99):.1f}", f"{errors}" + (f" ({detail})" if detail else "")]


async def _one(call, payload: bytes, record: Record) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        await call(payload, timeout=GATEWAY_TIMEOUT_S + 1)
        code = grpc.StatusCode.OK
    except aio.AioRpcError as error:
        code = error.code()
    record.add(time.perf_counter() - started, code)


async def closed_loop(channel: aio.Channel, payload: bytes, seconds: float, in_flight: int = 4,
                      record: Record | None = None) -> float:
    """Answers per second with ``in_flight`` concurrent callers for ``seconds`` (latencies into ``record``)."""
    call, stop = channel.unary_unary(GATEWAY_DETECT), time.perf_counter() + seconds
    record = record if record is not None else Record()

    async def worker() -> None:
        while time.perf_counter() < stop:
            await _one(call, payload, record)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return len(record.latencies) / (time.perf_counter() - started)


async def open_loop(channel: aio.Channel, load: dict[str, tuple[bytes, float]], seconds: float,
                    during: asyncio.Future | None = None) -> dict[str, Record]:
    """Send each modality's payload at its rate (requests/s) for ``seconds``; every answer recorded."""
    call = channel.unary_unary(GATEWAY_DETECT)
    records = {name: Record() for name in load}
    tasks: set[asyncio.Task] = set()

    async def sender(name: str, payload: bytes, rate: float) -> None:
        period, next_at, end = 1.0 / rate, time.perf_counter(), time.perf_counter() + seconds
        while next_at < end:
            task = asyncio.create_task(_one(call, payload, records[name]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    await asyncio.gather(*(sender(n, p, r) for n, (p, r) in load.items()))
    if tasks:
        await asyncio.wait(tasks, timeout=GATEWAY_TIMEOUT_S + 2)
    return records


def _table(title: str, records: dict[str, Record], wall: float) -> None:
    print_table(title, ["modality", "sent", "ok/s", "p50 ms", "p99 ms", "errors"],
                [r.row(name, wall) for name, r in records.items()])


async def run(args: argparse.Namespace, store: Path, log_dir: Path) -> list[list[str]]:
    summary: list[list[str]] = []
    services = {name: service_process(name, store) for name in MODALITIES}
    for process in services.values():
        process.start(log_dir)
    gateway = gateway_process({name: p.address for name, p in services.items()})
    gateway.start(log_dir)
    from services.core.spec import service_spec

    try:
        for name, process in services.items():
            if await serving(process.address, service_spec(name).grpc_service, 180) is None:
                raise RuntimeError(f"{name} did not become SERVING; see {log_dir / (name + '.log')}")
        if await serving(gateway.address, "polyad.gateway.v1.GatewayService", 60) is None:
            raise RuntimeError("the gateway did not start")
        bodies = payloads()
        async with aio.insecure_channel(gateway.address) as channel:
            for name in MODALITIES:  # warm-up: lazy imports, first inference
                await closed_loop(channel, bodies[name], 1.0, 1)
            idle = {name: Record() for name in MODALITIES}  # one call at a time, nothing else running
            for name in MODALITIES:
                await closed_loop(channel, bodies[name], 2.0, 1, idle[name])
            # 1. saturation, each modality alone
            saturation = {name: await closed_loop(channel, bodies[name], args.probe) for name in MODALITIES}
            print_table("1. idle latency (1 in flight), saturation (closed loop, 4 in flight), one modality at a time",
                        ["modality", "idle p50 ms", "idle p99 ms", "saturation answers/s"],
                        [[n, f"{np.percentile(idle[n].latencies, 50) * 1000:.1f}",
                          f"{np.percentile(idle[n].latencies, 99) * 1000:.1f}", f"{r:.1f}"]
                         for n, r in saturation.items()])
            # all modalities share 2 cores: each gets its share of its own saturation rate
            rates = {n: max(0.5, args.load * r / len(MODALITIES)) for n, r in saturation.items()}
            load = {n: (bodies[n], rates[n]) for n in MODALITIES}
            # 2. sustained
            started = time.perf_counter()
            sustained = await open_loop(channel, load, args.duration)
            _table(f"2. sustained load, {args.duration:.0f} s, open loop at {args.load:.0%} of the saturation share",
                   sustained, time.perf_counter() - started)
            summary.append(["sustained load", f"{sum(r.sent for r in sustained.values())} requests",
                            f"{sum(sum(r.errors.values()) for r in sustained.values())} errors"])
            # 3. kill -9 the logs service under load; restart at once
            victim = services["logs"]
            fault_s = max(15.0, args.duration / 3)
            loop_task = asyncio.ensure_future(open_loop(channel, load, fault_s))
            await asyncio.sleep(2.0)
            victim.signal(signal.SIGKILL)
            killed = time.perf_counter()
            victim.proc.wait()
            victim.start(log_dir)
            back = await serving(victim.address, service_spec("logs").grpc_service, 120)
            records = await loop_task
            ready_s = f"{time.perf_counter() - killed if back is None else back + 0:.1f}"
            _table(f"3. kill -9 logs under load ({fault_s:.0f} s window); SERVING again after {ready_s} s",
                   records, fault_s)
            others = sum(sum(r.errors.values()) for n, r in records.items() if n != "logs")
            summary.append(["kill -9 logs", f"SERVING after {ready_s} s",
                            f"logs failed {sum(records['logs'].errors.values())}, others failed {others}"])
            # 4. a hung service (SIGSTOP vision) under load
            hung = services["vision"]
            hung.signal(signal.SIGSTOP)
            try:
                records = await open_loop(channel, load, fault_s)
            finally:
                hung.signal(signal.SIGCONT)
            _table(f"4. vision hung (SIGSTOP) for {fault_s:.0f} s; gateway deadline {GATEWAY_TIMEOUT_S:.0f} s",
                   records, fault_s)
            p50_vs_idle, p99_vs_loaded = [], []
            for name in MODALITIES:
                if name == "vision" or not records[name].latencies:
                    continue
                p50_vs_idle.append(np.percentile(records[name].latencies, 50) / np.percentile(idle[name].latencies, 50))
                p99_vs_loaded.append(np.percentile(records[name].latencies, 99) /
                                     np.percentile(sustained[name].latencies, 99))
            summary.append(["vision hung", f"others: p50 ≤ {max(p50_vs_idle):.2f}× idle p50, "
                            f"p99 ≤ {max(p99_vs_loaded):.2f}× phase-2 p99",
                            f"vision failed {sum(records['vision'].errors.values())} "
                            f"({', '.join(records['vision'].errors)})"])
            await serving(hung.address, service_spec("vision").grpc_service, 30)
        # 5. kill -9 during Fit
        summary.append(await kill_during_fit(services["timeseries"], store, log_dir))
    finally:
        gateway.stop()
        for process in services.values():
            process.stop()
    return summary


def replica_pids(app_prefix: str) -> set[int]:
    """PIDs of the live Ray Serve replica processes of apps named ``app_prefix…`` (Ray sets their title to
    ``ray::ServeReplica:<app>:<deployment>``)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.startswith(b"ray::ServeReplica:" + app_prefix.encode()):
            found.add(int(cmdline.parent.name))
    return found


async def kill_ray_replica(args: argparse.Namespace, store: Path, log_dir: Path) -> list[str]:
    """kill -9 one of two Ray Serve replicas of the time-series model under load through a gateway.

    A Ray head (``ray start --head --block``, its own process group, as ``polyad up`` runs it), a time-series
    service on the Ray backend with 2 replicas, and a gateway in front; open-loop load at half the
    replicas' measured saturation; after 2 s one replica's worker process gets SIGKILL. Reported: time
    until Serve has two live replicas again, requests failed (and their codes) against those sent.
    """
    from services.core.spec import service_spec

    ray_port = _free_port()
    ray_dir = Path(tempfile.mkdtemp(prefix="polyad-rel-ray-"))
    head = Process("ray", f"127.0.0.1:{ray_port}", {"RAY_AUTH_MODE": "disabled"},
                   [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={ray_port}",
                    "--node-ip-address=127.0.0.1", "--include-dashboard=false", f"--temp-dir={ray_dir}",
                    "--disable-usage-stats"])
    head.proc = subprocess.Popen(head.argv, env={**os.environ, **head.env}, cwd=ROOT, start_new_session=True,
                                 stdout=open(log_dir / "ray.log", "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
    service = service_process("timeseries", store)
    service.name = "timeseries-ray"
    backend = {"kind": "ray", "ray_address": head.address, "num_replicas": 2, "num_cpus": 0.5}
    service.env.update({"POLYAD_TIMESERIES_BACKEND": json.dumps(backend), "RAY_AUTH_MODE": "disabled"})
    gateway = gateway_process({"timeseries": service.address})
    gateway.name = "gateway-ray"
    try:
        service.start(log_dir)
        gateway.start(log_dir)
        if await serving(service.address, service_spec("timeseries").grpc_service, 300) is None:
            raise RuntimeError(f"the Ray-backed time-series service did not start; see {log_dir}")
        await serving(gateway.address, "polyad.gateway.v1.GatewayService", 60)
        body = payloads()["timeseries"]
        async with aio.insecure_channel(gateway.address) as channel:
            await closed_loop(channel, body, 2.0, 1)  # warm-up
            rate = max(1.0, 0.5 * await closed_loop(channel, body, args.probe))
            before = replica_pids("timeseries")
            if len(before) != 2:
                raise RuntimeError(f"expected 2 replica processes, found {sorted(before)}")
            window = max(20.0, args.duration / 3)
            load = asyncio.ensure_future(open_loop(channel, {"timeseries": (body, rate)}, window))
            await asyncio.sleep(2.0)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            killed, replaced_s = time.perf_counter(), None
            while time.perf_counter() - killed < 120:
                live = replica_pids("timeseries")
                if len(live) == 2 and victim not in live:
                    replaced_s = time.perf_counter() - killed
                    break
                await asyncio.sleep(0.1)
            records = await load
        _table(f"6. kill -9 one of 2 Ray Serve replicas (time series) under load at {rate:.1f} req/s", records,
               window)
        record = records["timeseries"]
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(record.errors.items())) or "none"
        replaced = "not within 120 s" if replaced_s is None else f"after {replaced_s:.1f} s"
        return ["kill -9 a Ray replica (1 of 2)", f"replica replaced {replaced}",
                f"failed {sum(record.errors.values())} of {record.sent} ({codes})"]
    finally:
        gateway.stop()
        service.stop()
        os.killpg(head.proc.pid, signal.SIGTERM)
        try:
            head.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(head.proc.pid, signal.SIGKILL)


async def kill_during_fit(process: Process, store: Path, log_dir: Path) -> list[str]:
    """Start a Fit, kill -9 the service mid-write/train, restart: old version serves, nothing partial visible."""
    from polyad.timeseries.v1 import timeseries_pb2 as pb
    from services.core.codecs import from_numpy
    from services.core.store import ModelStore
    from tests.fuzz.messages import seeds

    models = ModelStore(store)
    before = models.resolve("timeseries", "comet").version
    t = np.arange(4000, dtype=np.float32)
    series = np.stack([np.sin(t / 8), np.cos(t / 8)], axis=1).astype(np.float32)
    fit = pb.FitRequest(values=from_numpy(series), config_json=json.dumps({"train_steps": 400}))
    async with aio.insecure_channel(process.address) as channel:
        call = channel.unary_unary("/polyad.timeseries.v1.TimeSeriesService/Fit")(fit.SerializeToString(),
                                                                                  timeout=120)
        await asyncio.sleep(3.0)
        process.signal(signal.SIGKILL)
        try:
            await call
            outcome = "Fit finished before the kill"
        except aio.AioRpcError as error:
            outcome = f"Fit call {error.code().name}"
    process.proc.wait()
    parent = store / "timeseries" / "comet"
    partial = [p.name for p in parent.iterdir() if p.name.startswith(".tmp-")]
    versions = models.versions("timeseries", "comet")
    latest = models.resolve("timeseries", "comet")
    from services.timeseries.detectors.comet import CometDetector

    models.load(latest, CometDetector)  # the store still loads
    process.start(log_dir)
    from services.core.spec import service_spec

    await serving(process.address, service_spec("timeseries").grpc_service, 120)
    async with aio.insecure_channel(process.address) as channel:
        answer = await channel.unary_unary("/polyad.timeseries.v1.TimeSeriesService/Detect")(
            seeds("timeseries")["Detect"].SerializeToString(), timeout=30)
    served = pb.DetectResponse.FromString(answer).model.version
    ok = latest.version == before == served and all(not v.startswith(".") for v in versions)
    return ["kill -9 during Fit", f"{outcome}; LATEST {'unchanged' if latest.version == before else 'moved'}, "
            f"serves {'old' if served == before else 'new'} version",
            f"{'OK' if ok else 'CHECK'}; visible versions {len(versions)}, staging dirs left {len(partial)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sustained load (phase 2)")
    parser.add_argument("--probe", type=float, default=5.0, help="seconds per saturation probe")
    parser.add_argument("--load", type=float, default=0.8, help="fraction of each modality's saturation share")
    parser.add_argument("--long", action="store_true", help="also run the fuzz suite with 500 examples per test")
    parser.add_argument("--no-ray", action="store_true", help="skip phase 6 (kill -9 a Ray Serve replica)")
    parser.add_argument("--ray-only", action="store_true", help="run only phase 6")
    args = parser.parse_args()
    from tests.fuzz.stack import build_store

    work = Path(tempfile.mkdtemp(prefix="polyad-reliability-"))
    store, log_dir = work / "store", work / "logs"
    log_dir.mkdir(parents=True)
    print(f"training the tiny models into {store} ...", flush=True)
    build_store(store, MODALITIES)
    summary = [] if args.ray_only else asyncio.run(run(args, store, log_dir))
    if not args.no_ray:
        summary.append(asyncio.run(kill_ray_replica(args, store, log_dir)))
    if args.long:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"],
                                cwd=ROOT, env={**os.environ, "POLYAD_FUZZ_EXAMPLES": "500"})
        summary.append(["fuzz suite --long (500 examples/test)", f"{time.perf_counter() - started:.0f} s",
                        "passed" if result.returncode == 0 else f"FAILED (rc {result.returncode})"])
    print_table("Reliability summary (loopback, tiny models; inline backend, phase 6 on Ray Serve)",
                ["check", "result", "detail"], summary)
    print(f"\nservice logs: {log_dir}")


if __name__ == "__main__":
    main()
