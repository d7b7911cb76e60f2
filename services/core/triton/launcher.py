"""Start a real Triton server (PyPI's nvidia-pytriton, CPU) on a model repository, from our own environment.

pytriton needs numpy < 2, so it runs in its own virtual environment (``scripts/make_pytriton_env.sh``,
default ``bench/.venvs/pytriton``) as a subprocess serving ``pytriton_server.py``. Used by the tests and
the interop benchmark::

    python = ensure_pytriton_env()          # (path, "") or (None, why not)
    server = start_pytriton(repository, python)
    ... tritonclient on server.grpc_url / server.http_url ...
    server.stop()
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ENV", "PytritonServer", "ensure_pytriton_env", "start_pytriton"]

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ENV = Path(os.environ.get("POLYAD_PYTRITON_ENV", ROOT / "bench" / ".venvs" / "pytriton"))
SERVER_SCRIPT = Path(__file__).with_name("pytriton_server.py")
MAKE_ENV = ROOT / "scripts" / "make_pytriton_env.sh"


def ensure_pytriton_env(env: Path = DEFAULT_ENV, timeout: float = 900) -> tuple[Path | None, str]:
    """The pytriton environment's python, creating it on first use; ``(None, reason)`` when impossible."""
    python = env / "bin" / "python"
    if not MAKE_ENV.is_file():
        return None, f"{MAKE_ENV} is missing"
    try:
        done = subprocess.run(["bash", str(MAKE_ENV), str(env)], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"cannot create the pytriton environment {env}: {error}"
    if done.returncode != 0 or not python.exists():
        return None, f"cannot create the pytriton environment {env}: {(done.stderr or done.stdout).strip()[-500:]}"
    return python, ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lib_dir(python: Path) -> str:
    """The directory of that interpreter's libpython (Triton's Python backend stub links against it)."""
    code = "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class PytritonServer:
    """A running Triton server subprocess and its endpoints."""

    process: subprocess.Popen[bytes]
    grpc_url: str
    http_url: str
    log_path: Path

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's log."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 20) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_pytriton(
    repository: str | Path, python: Path, log_path: str | Path | None = None, threads: int = 1, timeout: float = 180
) -> PytritonServer:
    """Serve ``repository`` on free loopback ports; returns once Triton reports ready (or raises)."""
    import tritonclient.grpc as tgrpc
    from tritonclient.utils import InferenceServerException

    repository = Path(repository)
    log_path = Path(log_path) if log_path is not None else repository.parent / "pytriton.log"
    grpc_port, http_port, metrics_port = _free_port(), _free_port(), _free_port()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (_lib_dir(python), env.get("LD_LIBRARY_PATH", "")) if p)
    command = [str(python), str(SERVER_SCRIPT), "--repository", str(repository), "--grpc-port", str(grpc_port),
               "--http-port", str(http_port), "--metrics-port", str(metrics_port), "--threads", str(threads)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = PytritonServer(process, f"127.0.0.1:{grpc_port}", f"127.0.0.1:{http_port}", log_path)
    deadline = time.monotonic() + timeout
    with tgrpc.InferenceServerClient(server.grpc_url) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"pytriton exited with {process.returncode}:\n{server.log_tail()}")
            try:
                if client.is_server_ready() and "bound " in server.log_tail(100_000):
                    return server
            except InferenceServerException:  # not listening yet
                pass
            time.sleep(0.5)
    server.stop()
    raise TimeoutError(f"pytriton was not ready within {timeout:.0f} s:\n{server.log_tail()}")
