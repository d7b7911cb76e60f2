"""``polyad up``'s resource plan and restart rule, with real child processes."""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

import pytest

from polyad.commands.up import Component, Supervisor, _component_ports, _metrics_port, plan_resources
from tests.support.ports import free_ports


def test_replicas_share_the_cpus_ray_reports() -> None:
    plan = plan_resources(cpus=2, gpus=0, services=8, replicas_per_service=1)
    assert plan.replicas == 8 and plan.cpus_per_replica == 0.25 and plan.gpus_per_replica == 0
    assert plan_resources(16, 1, 4, 2).cpus_per_replica == 2.0
    assert plan_resources(2, 0, 4, 1, cpus_per_replica=0.5).cpus_per_replica == 0.5


def test_a_request_that_cannot_be_scheduled_is_refused() -> None:
    with pytest.raises(SystemExit, match="exceeds the 2 CPUs"):
        plan_resources(2, 0, 4, 1, cpus_per_replica=1.0)
    with pytest.raises(SystemExit, match="exceeds the 0 GPUs"):
        plan_resources(2, 0, 4, 1, gpus_per_replica=1.0)


def test_metrics_port_is_grpc_port_plus_1000_unless_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        chosen = _metrics_port("127.0.0.1", busy - 1000, "probe")
        assert chosen != busy
        with socket.socket() as check:
            check.bind(("127.0.0.1", chosen))  # the replacement is free
    assert _metrics_port("127.0.0.1", busy - 1000, "probe") == busy  # released: the convention again


def test_metrics_port_avoids_the_other_components_ports() -> None:
    [port] = free_ports(1)
    assert _metrics_port("127.0.0.1", port, "probe", frozenset({port + 1000})) != port + 1000


def test_two_components_on_one_port_are_refused_by_name() -> None:
    args = argparse.Namespace(grpc_port=5000, http_port=5001, graph_port=5002, medical_port=5002)
    with pytest.raises(SystemExit, match="graph and medical are both given port 5002"):
        _component_ports(args, ["graph", "medical"])
    assert _component_ports(args, ["graph"]) == {"gateway gRPC": 5000, "gateway HTTP": 5001, "graph": 5002}


def _child(code: str) -> Component:
    part = Component("child", [sys.executable, "-c", code])
    part.start()
    assert part.process is not None
    part.process.wait(30)
    return part


@pytest.mark.parametrize(("code", "restart"), [
    ("raise SystemExit(0)", False),  # a clean exit (e.g. it got Ctrl-C too) is not restarted
    ("raise SystemExit(3)", True),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", True),  # a signal nobody here sent
])
def test_only_children_that_died_on_their_own_are_restarted(code: str, restart: bool) -> None:
    assert _child(code).died_on_its_own() is restart


def test_a_child_asked_to_stop_or_a_one_shot_child_is_never_restarted() -> None:
    part = Component("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    part.start()
    part.signal_stop()
    part.wait_or_kill(deadline=__import__("time").monotonic() + 10)
    assert part.process is not None and part.process.returncode != 0 and not part.died_on_its_own()
    trainer = Component("trainer", [sys.executable, "-c", "raise SystemExit(1)"], one_shot=True)
    trainer.start()
    assert trainer.process is not None and trainer.process.wait(30) == 1 and not trainer.died_on_its_own()


def test_the_supervisor_wakes_at_once_on_a_stop_signal() -> None:
    supervisor = Supervisor()
    supervisor.on_signal(2, None)
    assert supervisor.wait(30.0) is True  # no sleep: the event is already set



SLOW_STOPPER = """
import pathlib, signal, sys, time
def on_term(*_):
    time.sleep(float(sys.argv[2]))  # a graceful stop that takes a while (a service deleting its Serve app)
    pathlib.Path(sys.argv[1]).write_text(repr(time.time()))
    raise SystemExit(0)
signal.signal(signal.SIGTERM, on_term)
time.sleep(60)
"""


def test_ray_is_stopped_only_after_the_services_have_exited(tmp_path: Path) -> None:
    supervisor = Supervisor()
    ray = supervisor.launch(Component("ray", [sys.executable, "-c", SLOW_STOPPER, str(tmp_path / "ray"), "0"],
                                      own_group=True))
    supervisor.launch(Component("vision", [sys.executable, "-c", SLOW_STOPPER, str(tmp_path / "vision"), "1"]))
    time.sleep(1.0)  # let both install their handlers
    supervisor.shutdown()
    assert float((tmp_path / "vision").read_text()) < float((tmp_path / "ray").read_text())
    assert ray.process is not None and ray.process.returncode == 0

WEDGING_SERVER = """
import asyncio, signal, sys, time
from services.core.server import build_server, set_alive

async def main():
    server, health, _ = build_server("wedge", [], [], sys.argv[1])
    await server.start()
    await set_alive(health)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, lambda: time.sleep(3600))  # wedge the loop
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_a_wedged_component_is_killed_so_that_it_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import socket
    import time

    import polyad.commands.up as up

    monkeypatch.setattr(up, "LIVENESS_TIMEOUT_S", 0.5)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    part = Component("wedge", [sys.executable, "-c", WEDGING_SERVER, address], address=address)
    supervisor = Supervisor()
    supervisor.launch(part)
    try:
        deadline = time.monotonic() + 60
        while not part.answered:
            assert time.monotonic() < deadline, "the server never answered"
            supervisor.check_liveness()
            time.sleep(0.2)
        assert part.process is not None
        os.kill(part.process.pid, signal.SIGUSR1)
        time.sleep(0.3)
        for _ in range(up.LIVENESS_FAILURES):
            supervisor.check_liveness()
        assert part.process.returncode == -signal.SIGKILL and part.died_on_its_own()
    finally:
        supervisor.shutdown()
