"""Anomalies injected into real logs (written apart from :mod:`services.logs.generators`, which it never uses).

Works on sessions whose lines start with a ``date time`` header (dpkg, apt, most syslog-style files):
the header of a neighbouring line is kept, so only the content is wrong. Four kinds, one per injected
session:

- ``unseen_error``: a failure line the log never holds in normal operation (dpkg's own wording for
  a failed configure, a failed unpack, a full disk, a maintainer script's exit status...), naming the
  session's own package and version;
- ``reordered``: two adjacent steps with different actions swap places (timestamps stay);
- ``missing_step``: an interior step that occurs once in the session is dropped;
- ``abnormal_value``: a version / numeric field holds a value of another kind (``-1``, ``4294967295``,
  ``0xdeadbeef``, ``(null)``...).
"""

from __future__ import annotations

import re

import numpy as np

from services.logs.data import LogDataset
from services.logs.text import join_sessions, session_lines

__all__ = ["INJECTED_KINDS", "inject"]

INJECTED_KINDS = ("unseen_error", "reordered", "missing_step", "abnormal_value")

_FAILURES = (
    "dpkg: error processing package {package} (--configure):",
    "installed {package} package post-installation script subprocess returned error exit status 1",
    "status failed-config {package} {version}",
    "dpkg: error processing archive /var/cache/apt/archives/{name}_{version}_{arch}.deb (--unpack):",
    "unable to create '/usr/share/doc/{name}/changelog.gz.dpkg-new': No space left on device",
    "dpkg: dependency problems prevent configuration of {package}:",
    "error: cannot access archive '/var/cache/apt/archives/{name}_{version}_{arch}.deb': Input/output error",
)
_BAD_VALUES = ("-1", "4294967295", "0xdeadbeef", "(null)", "999999999999", "-32768")
_HEADER = re.compile(r"^(\S+ \S+ )(.*)$")
_VERSION = re.compile(r"\S*\d\S*$")


def _split(line: str) -> tuple[str, str]:
    found = _HEADER.match(line)
    return (found.group(1), found.group(2)) if found else ("", line)


def _action(line: str) -> str:
    """The step a line records: its first two content words (``status unpacked``, ``configure pkg``)."""
    return " ".join(_split(line)[1].split()[:2])


def _unseen_error(lines: list[str], rng: np.random.Generator) -> list[str] | None:
    at = int(rng.integers(0, len(lines)))
    header, content = _split(lines[at])
    words = content.split()
    package = next((w for w in words if ":" in w), words[-1] if words else "unknown")
    version = next((w for w in reversed(words) if any(c.isdigit() for c in w)), "1.0")
    name, _, arch = package.partition(":")
    text = str(rng.choice(_FAILURES)).format(package=package, version=version, name=name, arch=arch or "all")
    return [*lines[: at + 1], header + text, *lines[at + 1:]]


def _reordered(lines: list[str], rng: np.random.Generator) -> list[str] | None:
    pairs = [i for i in range(len(lines) - 1) if _action(lines[i]) != _action(lines[i + 1])]
    if not pairs:
        return None
    i = int(rng.choice(pairs))
    (h1, c1), (h2, c2) = _split(lines[i]), _split(lines[i + 1])
    return [*lines[:i], h1 + c2, h2 + c1, *lines[i + 2:]]


def _missing_step(lines: list[str], rng: np.random.Generator) -> list[str] | None:
    actions = [_action(x) for x in lines]
    interior = [i for i in range(1, len(lines) - 1) if actions.count(actions[i]) == 1]
    if not interior:
        return None
    i = int(rng.choice(interior))
    return [*lines[:i], *lines[i + 1:]]


def _abnormal_value(lines: list[str], rng: np.random.Generator) -> list[str] | None:
    candidates = [i for i, x in enumerate(lines) if _VERSION.search(_split(x)[1])]
    if not candidates:
        return None
    i = int(rng.choice(candidates))
    header, content = _split(lines[i])
    return [*lines[:i], header + _VERSION.sub(str(rng.choice(_BAD_VALUES)), content), *lines[i + 1:]]


_INJECT = {"unseen_error": _unseen_error, "reordered": _reordered, "missing_step": _missing_step,
           "abnormal_value": _abnormal_value}


def inject(dataset: LogDataset, rate: float = 0.06, seed: int = 0) -> tuple[LogDataset, list[str]]:
    """A copy of ``dataset`` with about ``rate`` of its sessions made anomalous (label 1), and each
    session's kind (``""`` when normal). Kinds are drawn uniformly; a session where the drawn kind
    does not apply (one line, no version) stays normal and another is drawn."""
    rng = np.random.default_rng(seed)
    sessions = [session_lines(s) for s in dataset.sessions]
    labels, kinds = dataset.labels.copy(), [""] * len(sessions)
    wanted = round(rate * len(sessions))
    for index in rng.permutation(len(sessions)).tolist():
        if wanted == 0:
            break
        kind = str(rng.choice(INJECTED_KINDS))
        changed = _INJECT[kind](sessions[index], rng)
        if changed is None or labels[index]:
            continue
        sessions[index], labels[index], kinds[index] = changed, 1, kind
        wanted -= 1
    name = f"{dataset.name}+injected(seed={seed})"
    return LogDataset(name, join_sessions(sessions), labels, list(dataset.ids)), kinds
