"""Read a child process's merged stdout/stderr in a thread, so waiting on it honours a deadline."""

from __future__ import annotations

import subprocess
import threading
import time


class ProcessOutput:
    """Collects a child's output lines, each also stamped with seconds since launch (for failure messages)."""

    def __init__(self, process: subprocess.Popen[str], marker: str = "ready") -> None:
        self.process = process
        self.lines: list[str] = []
        self.stamped: list[str] = []
        self.marked = threading.Event()
        self._launched = time.monotonic()
        self._marker = marker
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self.stamped.append(f"{time.monotonic() - self._launched:6.1f}s {line}")
            if line.strip() == self._marker:
                self.marked.set()

    def wait_for_marker(self, timeout_s: float) -> None:
        """Block until the marker line appears; fail with the output so far if the child exits or time runs out."""
        deadline = self._launched + timeout_s
        while not self.marked.wait(1.0):
            assert self.process.poll() is None, f"the process exited ({self.process.returncode}):\n{self._sofar()}"
            assert time.monotonic() < deadline, f"no {self._marker!r} line within {timeout_s:.0f} s:\n{self._sofar()}"

    def _sofar(self) -> str:
        """The stamped output for a failure message: all of it, or its first 40 and last 60 lines."""
        lines = self.stamped if len(self.stamped) <= 100 else [*self.stamped[:40], "…\n", *self.stamped[-60:]]
        return "".join(lines)
