"""The default-model trainer that ``polyad up`` starts ends on Ctrl-C with one line, no traceback, nothing stored."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def test_ctrl_c_during_training_exits_130_without_a_traceback(tmp_path: Path) -> None:
    trainer = subprocess.Popen(
        [sys.executable, "-m", "polyad.commands.defaults", "timeseries", "--store", str(tmp_path)],
        stderr=subprocess.PIPE, text=True,
        # a terminal's Ctrl-C reaches a child whose SIGINT is at its default; pytest may run with SIGINT ignored
        # (something earlier in the session set it so), and an ignored signal stays ignored across exec
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in trainer.stderr:  # wait until training has begun, as a user pressing Ctrl-C would see it
        lines.append(line)
        if "training the default" in line:
            break
    trainer.send_signal(signal.SIGINT)
    _, rest = trainer.communicate(timeout=60)
    output = "".join(lines) + rest
    assert trainer.returncode == 130, output
    assert "Traceback" not in output, output
    assert "interrupted" in output and "trains what is still missing" in output
    assert not list(tmp_path.rglob("*.safetensors")), "an interrupted training must store nothing"
