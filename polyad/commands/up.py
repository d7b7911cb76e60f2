"""``polyad up``: the embedded default — Ray, every service and the gateway on localhost, supervised.

Every component is a child process (a crash of one never takes the others down): the Ray head
(``ray start --head --block``), one ``python -m services.core.app <service>`` per registered service,
the gateway, and — on first start — a one-shot trainer of the missing default models. Services
start at once and turn SERVING when their default model appears in the store. The supervisor
restarts a child only when it died on its own (non-zero exit, or a signal it was not sent), and
SIGINT/SIGTERM (Ctrl-C reaches the whole process group) stops everything within 15 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console
from rich.table import Table

from services.core.spec import ServiceSpec, service_specs

__all__ = ["Component", "ResourcePlan", "plan_resources", "run_up"]

console = Console(stderr=True)
STOP_GRACE_S = 10.0
LIVENESS_PERIOD_S = 5.0  # how often a running component's liveness is checked
LIVENESS_TIMEOUT_S = 2.0
LIVENESS_FAILURES = 3  # consecutive unanswered checks before a component counts as wedged and is restarted


@dataclass
class Component:
    """A supervised child process; ``one_shot`` children (the trainer) are never restarted."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    address: str = ""
    metrics_port: int | None = None  # the Prometheus /metrics port of a service
    one_shot: bool = False
    own_group: bool = False  # run in a process group of its own, stopped (and cleaned up) as a group
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)
    stopping: bool = False
    answered: bool = False  # has answered a liveness check since it (re)started
    missed: int = 0  # consecutive unanswered liveness checks

    def start(self) -> None:
        self.stopping, self.answered, self.missed = False, False, 0
        self.process = subprocess.Popen(self.command, env={**os.environ, **self.env}, start_new_session=self.own_group)

    def signal_stop(self) -> None:
        """Ask the child to stop (SIGTERM); it is then expected to exit."""
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            if self.own_group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.own_group:  # helpers the leader left behind (Ray's agents outlive `ray start --block`)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def died_on_its_own(self) -> bool:
        """Exited with an error or was killed by a signal nobody here sent (exit 0 is a clean stop)."""
        code = self.process.poll() if self.process is not None else None
        return code is not None and code != 0 and not self.stopping and not self.one_shot


@dataclass(frozen=True)
class ResourcePlan:
    """Ray resources per Serve replica, derived from what the Ray head reports."""

    cpus: float  # CPUs Ray reports
    gpus: float  # GPUs Ray reports
    replicas: int  # replicas of every service together
    cpus_per_replica: float
    gpus_per_replica: float

    def describe(self) -> str:
        return (f"{self.replicas} replicas on {self.cpus:g} CPUs / {self.gpus:g} GPUs: "
                f"{self.cpus_per_replica:g} CPU, {self.gpus_per_replica:g} GPU each")


def plan_resources(cpus: float, gpus: float, services: int, replicas_per_service: int,
                   cpus_per_replica: float | None = None, gpus_per_replica: float = 0.0) -> ResourcePlan:
    """Share Ray's CPUs over every replica (fractions allowed) so every replica can be scheduled.

    Asking for more than is there (e.g. 1 CPU per replica with 8 replicas on 2 CPUs) leaves replicas
    pending forever, so an explicit request larger than the fair share is an error.
    """
    replicas = max(1, services * replicas_per_service)
    fair = round(max(cpus, 0.0) / replicas, 3)
    if cpus_per_replica is not None and cpus_per_replica * replicas > cpus + 1e-9:
        raise SystemExit(f"--cpus-per-replica {cpus_per_replica} × {replicas} replicas exceeds the {cpus:g} CPUs "
                         f"Ray reports; use at most {fair}")
    if gpus_per_replica * replicas > gpus + 1e-9:
        raise SystemExit(f"--gpus-per-replica {gpus_per_replica} × {replicas} replicas exceeds the {gpus:g} GPUs "
                         "Ray reports")
    return ResourcePlan(cpus, gpus, replicas, cpus_per_replica if cpus_per_replica is not None else fair,
                        gpus_per_replica)


def free_port(host: str) -> int:
    """A port that is free on ``host`` now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def health_status(address: str, timeout: float = 1.0, service: str = "") -> bool:
    """Whether ``address`` reports grpc.health.v1 SERVING for ``service`` now ("" = the whole server is ready)."""
    with grpc.insecure_channel(address) as channel:
        try:
            request = health_pb2.HealthCheckRequest(service=service)
            reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=timeout)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def installed_services() -> list[str]:
    """Services whose default detector plugin is registered and importable (installed with its extra)."""
    from services.core import registry
    from services.core.errors import PolyadError

    names = []
    for name, spec in service_specs().items():
        try:
            registry.detector_class(name, spec.default_detector)
        except (ImportError, PolyadError):
            continue
        names.append(name)
    return names


def missing_defaults(store_root: str | None, services: list[str]) -> list[str]:
    """Services whose default model is not in the store yet."""
    from services.core.errors import ModelNotFoundError
    from services.core.store import ModelStore

    store, missing = ModelStore(store_root), []
    for name in services:
        spec = service_specs()[name]
        try:
            stored = store.resolve(name, spec.default_detector)
            console.print(f"[green]{name}/{spec.default_detector}[/] {stored.version} found in {store.root}")
        except ModelNotFoundError:
            missing.append(name)
    return missing


def _ray_head(args: argparse.Namespace, temp_dir: str, port: int) -> Component:
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}",
               f"--node-ip-address={args.host}", "--include-dashboard=false", f"--temp-dir={temp_dir}",
               "--disable-usage-stats", f"--dashboard-agent-listen-port={free_port(args.host)}"]
    # Its own process group: Ctrl-C reaches the supervisor, which stops Ray last and removes every Ray process.
    # No drain on SIGTERM (Ray waits up to 30 s by default): it is stopped only after every service has
    # exited and deleted its Serve app, so nothing is left to drain.
    return Component("ray", command, {"RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}, own_group=True)


def _prepare_ray(address: str, args: argparse.Namespace, services: int, deadline: float) -> ResourcePlan:
    """Join the Ray head briefly (it may still be starting): read its resources and start Serve once.

    Serve's controller is started here, before the services, so that several services deploying at
    the same moment never race to create it; its HTTP proxy is off (services call their replicas
    through deployment handles, and port 8000 stays free).
    """
    import ray
    from ray import serve

    while True:
        try:
            ray.init(address=address, namespace="polyad", log_to_driver=False, logging_level="ERROR")
            break
        except (ConnectionError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        resources = ray.cluster_resources()
        serve.start(proxy_location="Disabled")
    finally:
        ray.shutdown()
    return plan_resources(float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0)), services,
                          args.replicas, args.cpus_per_replica, args.gpus_per_replica)


def _metrics_port(host: str, port: int, name: str, reserved: frozenset[int] = frozenset()) -> int:
    """``port + 1000`` (the documented convention) when it is free and not ``reserved`` (another component's
    port), else a free port, said aloud. A taken metrics port would crash the service at every restart
    (e.g. 52365, where Ray's agents listen)."""
    wanted = port + 1000
    if wanted not in reserved:
        with socket.socket() as sock:
            try:
                sock.bind((host, wanted))
                return wanted
            except OSError:
                pass
    chosen = free_port(host)
    while chosen in reserved:
        chosen = free_port(host)
    console.print(f"[yellow]{name}: metrics port {wanted} is taken; using {chosen}[/]")
    return chosen


def _component_ports(args: argparse.Namespace, names: list[str]) -> dict[str, int]:
    """The gateway's and every service's port; two components given one port is an error that names them."""
    ports = {"gateway gRPC": args.grpc_port, "gateway HTTP": args.http_port,
             **{name: getattr(args, f"{name}_port") for name in names}}
    owners: dict[int, str] = {}
    for name, port in ports.items():
        if port in owners:
            raise SystemExit(f"{owners[port]} and {name} are both given port {port}; give each its own")
        owners[port] = name
    return ports


def service_components(args: argparse.Namespace, specs: list[ServiceSpec], backend: dict,
                       reserved: frozenset[int]) -> list[Component]:
    """One ``python -m services.core.app <service>`` process per service; metrics ports avoid ``reserved``
    (the ports of every component, :func:`_component_ports`)."""
    parts = []
    for spec in specs:
        port = getattr(args, f"{spec.name}_port")
        prefix = spec.env_prefix
        metrics_port = _metrics_port(args.host, port, spec.name, reserved)
        reserved |= {metrics_port}
        env = {f"{prefix}ADDRESS": f"{args.host}:{port}", f"{prefix}BACKEND": json.dumps(backend),
               f"{prefix}METRICS_PORT": str(metrics_port), "POLYAD_MODEL_POLL_S": "2",
               # the SIGTERM a stop sends is expected: without this, Ray's C++ crash handler in each service
               # (a Ray driver) prints a stack dump for it before the service's own graceful stop runs
               "RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1"}
        if args.store:
            env[f"{prefix}STORE_ROOT"] = args.store
        parts.append(Component(spec.name, [sys.executable, "-m", "services.core.app", spec.name], env,
                               f"{args.host}:{port}", metrics_port))
    return parts


def gateway_component(args: argparse.Namespace, services: list[Component]) -> Component:
    env = {
        "POLYAD_GATEWAY_GRPC_ADDRESS": f"{args.host}:{args.grpc_port}",
        "POLYAD_GATEWAY_HTTP_ADDRESS": f"{args.host}:{args.http_port}",
        "POLYAD_GATEWAY_ROUTES": json.dumps({part.name: part.address for part in services}),
    }
    return Component("gateway", [sys.executable, "-m", "gateway.app"], env, f"{args.host}:{args.grpc_port}")


def trainer_component(args: argparse.Namespace, services: list[str]) -> Component:
    command = [sys.executable, "-m", "polyad.commands.defaults", *services]
    if args.store:
        command += ["--store", args.store]
    return Component("trainer", command, one_shot=True)


class Supervisor:
    """Starts components, restarts the ones that die on their own, stops everything on a signal."""

    def __init__(self) -> None:
        self.parts: list[Component] = []
        self.stop = threading.Event()

    def launch(self, part: Component) -> Component:
        self.parts.append(part)
        part.start()
        return part

    def on_signal(self, signum: int, _frame: object) -> None:
        self.stop.set()

    def check_children(self) -> None:
        for part in self.parts:
            if not part.died_on_its_own():
                continue
            assert part.process is not None
            now = time.monotonic()
            part.restarts = [t for t in part.restarts if now - t < 60] + [now]
            if len(part.restarts) > 5:
                console.print(f"[red]{part.name} keeps crashing ({part.process.returncode}); leaving it down[/]")
                part.stopping = True
                continue
            console.print(f"[yellow]{part.name} died ({part.process.returncode}); restarting[/]")
            part.start()

    def check_liveness(self) -> None:
        """Kill (and so restart) a component that answered before but stopped answering: a wedged process."""
        from services.core.server import LIVENESS_SERVICE

        for part in self.parts:
            if not part.address or part.process is None or part.process.poll() is not None or part.stopping:
                continue
            if health_status(part.address, LIVENESS_TIMEOUT_S, LIVENESS_SERVICE):
                part.answered, part.missed = True, 0
                continue
            if not part.answered:
                continue  # still starting (imports, model loading)
            part.missed += 1
            if part.missed >= LIVENESS_FAILURES:
                console.print(f"[red]{part.name} stopped answering its liveness check (wedged); restarting[/]")
                part.process.kill()
                part.process.wait()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (woken at once by a stop signal); True when stopping."""
        return self.stop.wait(seconds)

    def shutdown(self) -> None:
        """SIGTERM services, gateway and trainer, wait for them (killing stragglers), then do the same to Ray.

        Ray goes last and only once the services are gone: a service's graceful stop still talks to Ray
        (it deletes its Serve app), and Ray stopped under it fills the log with failed calls.
        """
        ray = [p for p in self.parts if p.name == "ray"]
        for phase in ([p for p in reversed(self.parts) if p.name != "ray"], ray):
            deadline = time.monotonic() + STOP_GRACE_S
            for part in phase:
                part.signal_stop()
            for part in phase:
                part.wait_or_kill(deadline)


def _wait_ready(supervisor: Supervisor, parts: list[Component], trainer: Component | None, timeout: float) -> bool:
    """Wait (checking children) until every part reports SERVING; False when stopped first.

    The clock runs only once the default models are trained (training time depends on the machine);
    past ``timeout`` the parts still not SERVING are named and the suite keeps running and waiting.
    """
    deadline, pending, warned = None, list(parts), False
    while pending:
        supervisor.check_children()
        pending = [part for part in pending if not health_status(part.address)]
        training = trainer is not None and trainer.process is not None and trainer.process.poll() is None
        if trainer is not None and trainer.process is not None and trainer.process.poll() not in (None, 0):
            console.print(f"[red]training the default models failed (exit {trainer.process.returncode}); "
                          "services without a model stay NOT_SERVING until `polyad train <service>`[/]")
            trainer = None
        if not pending:
            return True
        if deadline is None and not training:
            deadline = time.monotonic() + timeout
        if deadline is not None and time.monotonic() > deadline and not warned:
            console.print(f"[yellow]not SERVING after {timeout:.0f} s: {', '.join(p.name for p in pending)}; "
                          "still waiting (see their logs above)[/]")
            warned = True
        if supervisor.wait(1.0):
            return False
    return True


def _print_table(args: argparse.Namespace, services: list[Component], plan: ResourcePlan | None) -> None:
    table = Table(title="Polyad is up")
    table.add_column("endpoint")
    table.add_column("address")
    table.add_row("gateway gRPC (polyad.gateway.v1.GatewayService)", f"{args.host}:{args.grpc_port}")
    table.add_row("gateway REST + OpenAPI docs", f"http://{args.host}:{args.http_port}/docs")
    table.add_row("metrics", f"http://{args.host}:{args.http_port}/metrics")
    for part in services:
        table.add_row(f"{part.name} service (direct gRPC)", part.address)
        table.add_row(f"{part.name} service metrics", f"http://{args.host}:{part.metrics_port}/metrics")
    table.add_row("model replicas", plan.describe() if plan is not None else "inline (in each service process)")
    Console().print(table)


def run_up(args: argparse.Namespace) -> int:
    """Start everything, print the addresses, supervise until SIGINT/SIGTERM."""
    specs = service_specs()
    names = args.services if args.services is not None else installed_services()
    reserved = frozenset(_component_ports(args, names).values())  # checked before anything starts
    supervisor = Supervisor()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, supervisor.on_signal)
    plan: ResourcePlan | None = None
    backend: dict = {"kind": args.backend, "num_replicas": args.replicas}
    try:
        if args.backend == "ray":
            # The embedded head listens on the chosen host only (loopback by default) and every client is a
            # child of this process, so Ray's token authentication (on by default for `ray start`) is off.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            temp_dir = tempfile.mkdtemp(prefix="polyad-ray-")
            ray_port = free_port(args.host)
            supervisor.launch(_ray_head(args, temp_dir, ray_port))
            address = f"{args.host}:{ray_port}"
            plan = _prepare_ray(address, args, len(names), time.monotonic() + 60)
            console.print(f"[green]Ray[/] head at {address} (temp dir {temp_dir}); {plan.describe()}")
            backend.update(ray_address=address, num_cpus=plan.cpus_per_replica, num_gpus=plan.gpus_per_replica)
        services = [supervisor.launch(part) for part in service_components(args, [specs[n] for n in names], backend,
                                                                           reserved)]
        gateway = supervisor.launch(gateway_component(args, services))
        missing = missing_defaults(args.store, names)
        trainer = supervisor.launch(trainer_component(args, missing)) if missing else None
        if missing:
            console.print(f"training the default models of {', '.join(missing)} (first start only); "
                          "each service turns SERVING when its model is stored")
        if _wait_ready(supervisor, [*services, gateway], trainer, args.ready_timeout):
            _print_table(args, services, plan)
            print("ready", flush=True)
            last_liveness = time.monotonic()
            while not supervisor.wait(1.0):
                supervisor.check_children()
                if time.monotonic() - last_liveness >= LIVENESS_PERIOD_S:
                    supervisor.check_liveness()
                    last_liveness = time.monotonic()
        console.print("stopping")
    finally:
        supervisor.shutdown()
    return 0
