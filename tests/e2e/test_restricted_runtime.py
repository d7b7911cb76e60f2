"""A service runs as the chart's pods run it: non-root, read-only root filesystem, writable /tmp and store only.

No container runtime runs here, so this reproduces the chart's restrictions on the real service process
with Linux primitives instead of a container: a private mount namespace (``unshare --mount``) in which
every filesystem is remounted read-only, ``/tmp`` is a fresh tmpfs (the chart's ``emptyDir``) and the
model store is bind-mounted at the chart's ``modelStore.mountPath``; then ``setpriv`` drops to the
rendered ``runAsUser``/``runAsGroup`` with no capabilities and ``no_new_privs`` (``capabilities.drop:
[ALL]``, ``allowPrivilegeEscalation: false``), and the process gets exactly the rendered container's
environment. The service must start, serve Detect, and write a new model version through Fit.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest

from polyad.tensorstream.v1 import tensorstream_pb2 as pb
from polyad.tensorstream.v1 import tensorstream_pb2_grpc as pb_grpc
from services.core.codecs import to_numpy
from services.tensorstream.codec import encode_jsonl
from tests.contract.tensorstream_case import SMALL_CONFIGS
from tests.support.ports import free_ports
from tests.unit.deploy.conftest import FULLNAME, container, env_of, render

SERVICE = "tensorstream"


def _can_sandbox() -> str:
    """Why the sandbox cannot be built here ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root to build a mount namespace and drop to the chart's user"
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return "needs util-linux unshare and setpriv"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return "" if probe.returncode == 0 else f"unshare --mount failed: {probe.stderr.decode().strip()}"


REPO_MOUNT = "/mnt/repo"
"""Where the checkout is bound read-only inside the sandbox."""


def _inside_sandbox(path: Path, repo: Path) -> str:
    """``path`` as the sandboxed process sees it (paths in the checkout move to :data:`REPO_MOUNT`)."""
    return f"{REPO_MOUNT}/{path.relative_to(repo)}" if path.is_relative_to(repo) else str(path)


def _ready(channel: grpc.Channel) -> bool:
    try:
        grpc.channel_ready_future(channel).result(timeout=1)
        return True
    except grpc.FutureTimeoutError:
        return False


def _sandbox_script(store: Path, mount_path: str, uid: int, gid: int, env: dict[str, str], repo: Path) -> str:
    """The shell run inside the new mount namespace (as root until the final ``exec setpriv``)."""
    remount = ("for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do case $m in /proc*|/sys*|/dev*) ;; "
               "*) mount -o remount,bind,ro \"$m\" 2>/dev/null || true ;; esac; done")
    environment = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
    # The interpreter may live under a root-only home (pyenv in /root): the pod's image has it in /usr/local.
    # Bind its installation onto a tmpfs at /mnt so the unprivileged user can run it, as in the image.
    base = Path(sys.base_prefix)
    interpreter = Path("/mnt/python") / Path(os.path.realpath(sys.executable)).relative_to(base)
    # its RUNPATH names the unreadable original; point the loader at the bound copy of its libpython
    command = shlex.join(["env", "LD_LIBRARY_PATH=/mnt/python/lib", str(interpreter), "-m", "services.core.app",
                          SERVICE])
    return "\n".join([
        "set -e",
        "mount --make-rprivate /",
        remount,
        "mount -t tmpfs -o size=1m,mode=755 tmpfs /mnt && mkdir /mnt/python /mnt/repo",
        f"mount --bind {shlex.quote(str(base))} /mnt/python",
        # the checkout (and its venv) may live under /tmp, which the pod's emptyDir hides: bind it read-only
        f"mount --bind {shlex.quote(str(repo))} {REPO_MOUNT} && mount -o remount,bind,ro {REPO_MOUNT}",
        f"mount --bind {shlex.quote(str(store))} {shlex.quote(mount_path)}",  # before /tmp hides the source
        f"mount -o remount,bind,rw {shlex.quote(mount_path)}",  # the volume is the one writable place (and /tmp)
        "mount -t tmpfs -o size=256m,mode=1777 tmpfs /tmp",
        # the restrictions hold before we drop privileges: even root cannot write the code or the root fs
        f"if touch {REPO_MOUNT}/.rw-probe 2>/dev/null; then echo 'repo is writable'; exit 97; fi",
        "if touch /.rw-probe 2>/dev/null; then echo 'root fs is writable'; exit 97; fi",
        f"cd {REPO_MOUNT}",
        f"exec setpriv --reuid={uid} --regid={gid} --clear-groups --inh-caps=-all --bounding-set=-all "
        f"--no-new-privs env -i {environment} {command}",
    ])


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    why = _can_sandbox()
    if why:
        pytest.skip(why)
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector
    from tests.contract.tensorstream_case import case

    pod = render({}).get("Deployment", f"{FULLNAME}-{SERVICE}")["spec"]["template"]["spec"]
    ctr = container(pod)
    security = {**pod["securityContext"], **ctr["securityContext"]}
    assert security["readOnlyRootFilesystem"] is True and security["runAsNonRoot"] is True
    uid, gid = int(security["runAsUser"]), int(security["runAsGroup"])
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    mount_path = next(path for path, name in mounts.items() if name == "model-store")
    assert set(mounts) == {"/tmp", mount_path}, "the sandbox makes exactly these writable"

    data = case(0)
    store = tmp_path_factory.mktemp("store")  # the volume; fsGroup makes it the pod user's
    split = round(len(data.train) * 0.8)
    config = SMALL_CONFIGS["tensorstream.heterocomp"]
    fit_and_store(ModelStore(store), SERVICE, HeteroCompDetector(config), data.train.take(slice(0, split)),
                  data.train.take(slice(split, len(data.train))))
    for path in [store, *store.rglob("*")]:
        os.chown(path, uid, gid)
    Path(mount_path).mkdir(exist_ok=True)  # the mount point (an image has it; this machine may not)

    port, metrics_port = free_ports(2)
    env = {key: value for key, value in env_of(ctr).items() if isinstance(value, str)}
    prefix = f"POLYAD_{SERVICE.upper()}_"
    env.update({f"{prefix}ADDRESS": f"127.0.0.1:{port}", f"{prefix}METRICS_PORT": str(metrics_port),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"})
    repo = Path(__file__).resolve().parents[2]
    packages = [_inside_sandbox(Path(path), repo) for path in site.getsitepackages()]  # the venv's packages
    env["PYTHONPATH"] = os.pathsep.join([REPO_MOUNT, *packages])
    script = _sandbox_script(store, mount_path, uid, gid, env, repo)
    log = tmp_path_factory.mktemp("log") / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["unshare", "--mount", "--fork", "sh", "-c", script], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        while not _ready(channel):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"the sandboxed service did not start (exit {process.poll()}):\n{tail}")
        yield SimpleNamespace(stub=pb_grpc.TensorStreamServiceStub(channel), process=process, store=store,
                              uid=uid, gid=gid, data=data, config=config, log=log)
    finally:
        channel.close()
        if process.poll() is None:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def _service_pid(sandboxed: SimpleNamespace) -> int:
    """The python process inside the sandbox (the child of ``unshare --fork``)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"services.core.app" in cmdline and os.getsid(int(status.parent.name)) == sandboxed.process.pid:
            return int(status.parent.name)
    raise AssertionError(f"no sandboxed service process:\n{sandboxed.log.read_text(errors='replace')[-2000:]}")


def test_runs_as_the_charts_user_on_a_read_only_root(sandboxed: SimpleNamespace) -> None:
    pid = _service_pid(sandboxed)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    assert status["Uid"].split()[:2] == [str(sandboxed.uid)] * 2
    assert status["Gid"].split()[:2] == [str(sandboxed.gid)] * 2
    assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0 and status["NoNewPrivs"].strip() == "1"
    lines = Path(f"/proc/{pid}/mounts").read_text().splitlines()
    mounts = {line.split()[1]: line.split()[3].split(",") for line in lines}
    assert "ro" in mounts["/"], mounts["/"]
    assert "rw" in mounts["/tmp"], mounts["/tmp"]


def test_detects_and_fits_a_new_version_into_the_mounted_store(sandboxed: SimpleNamespace) -> None:
    from tests.integration.test_tensorstream_service import events_message

    test = sandboxed.data.test.take(slice(0, 200))
    reply = sandboxed.stub.Detect(pb.DetectRequest(events=events_message(test)), timeout=60)
    assert to_numpy(reply.scores).shape == (200,)
    before = {path.name for path in sandboxed.store.rglob("*") if path.is_dir()}
    info = sandboxed.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    fitted = sandboxed.stub.Fit(pb.FitRequest(events=pb.Events(jsonl=encode_jsonl(sandboxed.data.train.take(
        slice(0, 4000)))), schema=info.schema, config_json=json.dumps(sandboxed.config)), timeout=180)
    assert fitted.model.version != info.model.version
    written = [path for path in sandboxed.store.rglob("*") if path.name not in before]
    assert written and all(path.stat().st_uid == sandboxed.uid for path in written)
    assert any(fitted.model.version in str(path) for path in written)
    again = pb.DetectRequest(events=events_message(test))
    again.model.version = fitted.model.version
    assert to_numpy(sandboxed.stub.Detect(again, timeout=60).scores).shape == (200,)
    assert sandboxed.process.poll() is None, "the service is still running"
