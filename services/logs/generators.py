"""Generators of realistic labelled logs: HDFS-like (sessions by block id) and BGL-like (per-line labels).

Both write the loghub file formats, so the loaders in :mod:`services.logs.data` read them back:
``HDFS.log`` lines ``yyMMdd HHmmss pid LEVEL component: content`` plus ``anomaly_label.csv``, and
BGL lines ``<label> <epoch> <date> <node> <time> <node> RAS <component> <level> <content>`` (label
``-`` for normal lines). Anomalous sessions come in five kinds: an unseen error message, missing
steps, reordered steps, an abnormal parameter value and a burst of repeated lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["ANOMALY_KINDS", "generate_bgl_like", "generate_hdfs_like"]

ANOMALY_KINDS = ("unseen_error", "missing_steps", "reordered", "abnormal_value", "burst")
Rng = np.random.Generator


def _ip(rng: Rng) -> str:
    return f"10.251.{rng.integers(0, 256)}.{rng.integers(1, 255)}"


def _block(rng: Rng) -> str:
    value = int(rng.integers(10**17, 10**19 - 1, dtype=np.uint64))
    return f"blk_{'-' if rng.random() < 0.5 else ''}{value % 9_223_372_036_854_775_807}"


_HDFS_ERRORS = (
    "dfs.DataNode$DataXceiver: writeBlock {b} received exception java.io.IOException: Could not read from stream",
    "dfs.DataNode$PacketResponder: PacketResponder {b} 1 Exception java.io.InterruptedIOException: "
    "Interruped while waiting for IO on channel java.nio.channels.SocketChannel",
    "dfs.FSDataset: Unexpected error trying to delete block {b}. BlockInfo not found in volumeMap.",
    "dfs.DataNode: {ip}:50010:DataXceiver: java.io.EOFException: while trying to read 65557 bytes of {b}",
)


def _hdfs_session(rng: Rng, start: float) -> list[tuple[float, str, str]]:
    """One normal block's life: (time, level, 'component: content') events."""
    b, replicas = _block(rng), 3 if rng.random() < 0.85 else 2
    nodes, src = [_ip(rng) for _ in range(replicas)], _ip(rng)
    size = int(rng.choice([67108864, rng.integers(1_000, 67_108_864)]))
    t, events = start, []

    def emit(text: str, delay: float = 0.2, level: str = "INFO") -> None:
        nonlocal t
        t += float(rng.exponential(delay))
        events.append((t, level, text))

    job, task = rng.integers(200811092030, 200811111000), rng.integers(0, 2000)
    emit(f"dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: /user/root/rand{rng.integers(1, 9)}/_temporary/"
         f"_task_{job}_0001_m_{task:06d}_0/part-{task:05d}. {b}")
    for node in rng.permutation(nodes):
        emit(f"dfs.DataNode$DataXceiver: Receiving block {b} src: /{src}:{rng.integers(30000, 60000)} "
             f"dest: /{node}:50010")
    for i in rng.permutation(replicas):
        pair = [f"dfs.DataNode$PacketResponder: PacketResponder {i} for block {b} terminating",
                f"dfs.DataNode$PacketResponder: Received block {b} of size {size} from /{nodes[i]}"]
        for text in pair if rng.random() < 0.6 else pair[::-1]:
            emit(text, 1.0)
        emit(f"dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {nodes[i]}:50010 "
             f"is added to {b} size {size}", 0.3)
    for _ in range(int(rng.choice([0, 0, 1, 2, 3]))):
        emit(f"dfs.DataNode$DataXceiver: {rng.choice(nodes)}:50010 Served block {b} to /{_ip(rng)}", 30.0)
    if rng.random() < 0.3:
        emit(f"dfs.DataBlockScanner: Verification succeeded for {b}", 60.0)
    if rng.random() < 0.15:
        a, target = rng.choice(nodes), _ip(rng)
        emit(f"dfs.FSNamesystem: BLOCK* ask {a}:50010 to replicate {b} to datanode(s) {target}:50010", 20.0)
        emit(f"dfs.DataNode: {a}:50010 Starting thread to transfer block {b} to {target}:50010")
        emit(f"dfs.DataNode$DataXceiver: Received block {b} src: /{a}:{rng.integers(30000, 60000)} "
             f"dest: /{target}:50010 of size {size}")
        emit(f"dfs.DataNode$DataTransfer: {a}:50010:Transmitted block {b} to /{target}:50010")
    if rng.random() < 0.35:
        t += float(rng.exponential(300.0))
        for node in nodes:
            emit(f"dfs.FSNamesystem: BLOCK* NameSystem.delete: {b} is added to invalidSet of {node}:50010", 0.5)
        for _ in nodes:
            emit(f"dfs.FSDataset: Deleting block {b} file /mnt/hadoop/dfs/data/current/subdir"
                 f"{rng.integers(0, 64)}/{b}", 2.0)
    return events


def _make_anomalous(rng: Rng, events: list[tuple[float, str, str]], kind: str) -> list[tuple[float, str, str]]:
    """Turn a normal session's events into an anomalous one of ``kind``."""
    events = list(events)
    b = events[0][2].rsplit(" ", 1)[-1]
    if kind == "unseen_error":
        at = int(rng.integers(2, len(events)))
        text = str(rng.choice(_HDFS_ERRORS)).format(b=b, ip=_ip(rng))
        events = [*events[:at], (events[at - 1][0] + 0.1, "WARN", text), *events[at:at + int(rng.integers(0, 3))]]
    elif kind == "missing_steps":
        drop = rng.choice(["Receiving", "Received block", "addStoredBlock", "allocateBlock", "terminating"])
        kept = [e for e in events if drop not in e[2]]
        events = kept if len(kept) < len(events) else events[: max(2, len(events) // 2)]
    elif kind == "reordered":
        times = sorted(e[0] for e in events)
        head, tail = events[: max(2, len(events) // 2)], events[max(2, len(events) // 2):]
        events = [(t, lvl, txt) for t, (_, lvl, txt) in zip(times, tail + head, strict=True)]
    elif kind == "abnormal_value":
        bad = str(rng.choice(["-1", "0", str(rng.integers(10**11, 10**12))]))
        events = [(t, lvl, _replace_size(txt, bad)) for t, lvl, txt in events]
    else:  # burst
        at = int(rng.integers(1, len(events)))
        t0, lvl, text = events[at]
        repeats = [(t0 + 0.01 * k, lvl, text) for k in range(int(rng.integers(10, 25)))]
        events = events[:at] + repeats + events[at + 1:]
    return events


def _replace_size(text: str, value: str) -> str:
    words = text.split(" ")
    for i, word in enumerate(words[:-1]):
        if word == "size":
            words[i + 1] = value
    return " ".join(words)


def generate_hdfs_like(
    n_sessions: int = 2000, anomaly_rate: float = 0.03, seed: int = 0, duration_s: float = 86_400.0
) -> tuple[list[str], dict[str, int], list[str]]:
    """(log lines in time order, block id → label 0/1, block ids in order of first appearance)."""
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, duration_s, n_sessions))
    anomalous = rng.random(n_sessions) < anomaly_rate
    everything: list[tuple[float, int, str, str]] = []
    labels: dict[str, int] = {}
    order: list[str] = []
    for index, start in enumerate(starts):
        events = _hdfs_session(rng, float(start))
        block = events[0][2].rsplit(" ", 1)[-1]
        if anomalous[index]:
            events = _make_anomalous(rng, events, ANOMALY_KINDS[int(rng.integers(len(ANOMALY_KINDS)))])
        labels[block] = int(anomalous[index])
        order.append(block)
        everything.extend((t, index, level, text) for t, level, text in events)
    everything.sort(key=lambda item: (item[0], item[1]))
    base = time.mktime((2008, 11, 9, 20, 0, 0, 0, 0, 0))
    lines = []
    for t, index, level, text in everything:
        stamp = time.strftime("%y%m%d %H%M%S", time.gmtime(base + t))
        lines.append(f"{stamp} {100 + index % 900} {level} {text}")
    return lines, labels, order


_BGL_NORMAL: tuple[tuple[str, str, Callable[[Rng], str]], ...] = (
    ("KERNEL", "INFO", lambda r: "instruction cache parity error corrected"),
    ("KERNEL", "INFO", lambda r: f"generating core.{r.integers(1, 9000)}"),
    ("KERNEL", "INFO", lambda r: f"CE sym {r.integers(0, 32)}, at 0x{r.integers(0, 2**32):08x}, "
                                 f"mask 0x{r.integers(0, 256):02x}"),
    ("KERNEL", "INFO", lambda r: f"{r.integers(1, 99)} double-hummer alignment exceptions"),
    ("KERNEL", "INFO", lambda r: f"total of {r.integers(1, 20)} ddr error(s) detected and corrected"),
    ("KERNEL", "INFO", lambda r: f"ddr: activating redundant bit steering: rank={r.integers(0, 2)} "
                                 f"symbol={r.integers(0, 36)}"),
    ("KERNEL", "INFO", lambda r: "shutdown complete"),
    ("KERNEL", "WARNING", lambda r: f"iar 0x{r.integers(0, 2**24):08x} dear 0x{r.integers(0, 2**32):08x}"),
    ("MMCS", "INFO", lambda r: f"idoproxydb hit ASSERT condition: ASSERT expression={r.integers(0, 2)} "
                               "Source file=idotransportmgr.cpp"),
    ("APP", "FATAL", lambda r: f"ciod: failed to read message prefix on control stream (CioStream socket to "
                               f"172.16.96.{r.integers(1, 255)}:{r.integers(30000, 60000)}"),
    ("DISCOVERY", "WARNING", lambda r: f"Node card VPD check: missing U{r.integers(1, 20):02d} node, "
                                       f"VPD ecid {r.integers(0, 2**40):x} in slot J{r.integers(1, 20)}"),
    ("HARDWARE", "WARNING", lambda r: f"PrepareForService shutting down NodeCard(mLctn(R{r.integers(0, 80):02d}"
                                      f"-M{r.integers(0, 2)}-N{r.integers(0, 16)}), mCardSernum(...), as part of "
                                      "Service Action"),
)
_BGL_FATAL = (
    ("KERNEL", "FATAL", "rts panic! - stopping execution"),
    ("KERNEL", "FATAL", "machine check interrupt (bit=0x1d): L2 dcache unit data parity error"),
    ("KERNEL", "FATAL", "data storage interrupt"),
    ("APP", "FATAL", "ciod: Error loading /g/g0/user/bin/prog: invalid or missing program image, Exec format error"),
    ("KERNEL", "FATAL", "Lustre mount FAILED : bglio11 : block_id : location"),
)


def _job(rng: Rng) -> list[tuple[str, str, str]]:
    job, user, prog = rng.integers(10_000, 99_999), f"user{rng.integers(1, 40)}", f"/g/g{rng.integers(0, 9)}/app"
    return [("APP", "INFO", f"ciod: LOGIN user {user} job {job}"),
            ("APP", "INFO", f"ciod: loading program {prog} for job {job}"),
            ("APP", "INFO", f"ciod: job {job} running on {rng.choice([32, 64, 128, 512])} nodes"),
            ("APP", "INFO", f"ciod: job {job} exited normally with status 0"),
            ("APP", "INFO", f"ciod: LOGOUT user {user} job {job}")]


def generate_bgl_like(
    n_lines: int = 40_000, anomaly_rate: float = 0.003, seed: int = 0
) -> list[str]:
    """BGL-format lines in time order; ``anomaly_rate`` is the share of lines that start an anomaly event.

    Background node messages mix with job life-cycles (LOGIN → load → run → exit → LOGOUT); anomaly
    events are unseen fatal messages, ddr-error bursts, abnormal error counts, and job life-cycles
    with missing or reordered steps. Lines of anomaly events carry a non-``-`` label.
    """
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, str, str]] = []  # (label, component, level, content)
    pending: list[tuple[str, str, str, str]] = []
    while len(events) < n_lines:
        if pending:
            events.append(pending.pop(0))
            continue
        u = rng.random()
        if u < anomaly_rate:
            kind = ANOMALY_KINDS[int(rng.integers(len(ANOMALY_KINDS)))]
            pending.extend(_bgl_anomaly(rng, kind))
        elif u < 0.15:
            steps = _job(rng)
            # interleave the life-cycle with background lines
            for step in steps:
                pending.append(("-", *step))
                pending.extend(("-", *_bgl_background(rng)) for _ in range(int(rng.integers(0, 3))))
        else:
            events.append(("-", *_bgl_background(rng)))
    lines, epoch = [], 1117838570
    for index, (label, component, level, content) in enumerate(events[:n_lines]):
        t = epoch + index * 2
        node = f"R{(index * 7) % 80:02d}-M{index % 2}-N{(index * 3) % 16}-C:J{index % 18:02d}-U{index % 2 + 1}1"
        stamp = time.strftime("%Y-%m-%d-%H.%M.%S", time.gmtime(t)) + f".{(index * 7919) % 1_000_000:06d}"
        date = time.strftime("%Y.%m.%d", time.gmtime(t))
        lines.append(f"{label} {t} {date} {node} {stamp} {node} RAS {component} {level} {content}")
    return lines


def _bgl_background(rng: Rng) -> tuple[str, str, str]:
    weights = np.array([30, 10, 12, 8, 8, 3, 2, 3, 2, 2, 1, 1], dtype=float)
    component, level, make = _BGL_NORMAL[int(rng.choice(len(_BGL_NORMAL), p=weights / weights.sum()))]
    return component, level, make(rng)


def _bgl_anomaly(rng: Rng, kind: str) -> list[tuple[str, str, str, str]]:
    if kind == "unseen_error":
        return [("FATAL", *_BGL_FATAL[int(rng.integers(len(_BGL_FATAL)))])]
    if kind == "burst":
        return [("KERNDDR", "KERNEL", "INFO", f"total of {rng.integers(1, 20)} ddr error(s) detected and corrected")
                for _ in range(int(rng.integers(12, 20)))]
    if kind == "abnormal_value":
        return [("KERNDDR", "KERNEL", "INFO", f"total of {rng.integers(5000, 90000)} ddr error(s) detected and "
                                              "corrected")]
    steps = [("APPJOB", *step) for step in _job(rng)]
    if kind == "missing_steps":
        return [steps[0], steps[3], steps[4]]  # never loaded or ran
    return [steps[0], steps[3], steps[1], steps[4], steps[2]]  # reordered
