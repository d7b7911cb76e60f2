"""HeteroComp against streaming peers on the flights and network event streams (window and event accuracy).

For every seed, each stream is split into a clean training period and a test period with injected group
anomalies (``services.tensorstream.flights`` / ``netgen``). Every method is fitted on the training period
only and scores the test events; a window's label is 1 when any of its events is anomalous.

Methods (same windows, same test events):

* **HeteroComp** (batch ``score_windows``: event scores and group scores per window);
* **HeteroComp stream+adapt**: the same model through ``stream_step`` one window per call, adapt on;
* ablations: **static** (no GP prior on dynamics: constant component intensities) and **no group**
  (event NLL only; a window's score is its largest event score);
* peers: ``pysad`` xStream, RS-Hash, LODA, Half-Space Trees and ``river`` HalfSpaceTrees, fitted on up to
  ``--peer-train`` training events and scoring test events without learning. Features (the same for all
  peers): each continuous attribute as ``asinh((x − median) / MAD)``, each categorical attribute as
  ``−log`` of its smoothed training frequency. A peer's window score is its largest event score.

HeteroComp's K is chosen on a validation seed (its own test period) by window PR-AUC; the other settings
are the defaults. Throughput: ``stream_step`` in-process over the network stream, 1,000 events per call.
Memory: process RSS and stream-state bytes after 100 k and 1 M streamed events (adapt on).
gRPC: the service as its own process (``python -m services.core.app tensorstream``, inline backend), one
``StreamDetect`` call over loopback with 2,000 events per message (columnar ``Events``, adapt on):
events/s, and the service's RSS after 100 k and 1 M events (``--grpc-events``; ``--grpc-only`` runs only this).

Run: ``python bench/tensorstream.py [--quick] [--seeds 0 1 2] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import ROOT as ROOT_DIR
from _common import print_table  # importing _common puts the repo on sys.path
from sklearn.metrics import average_precision_score, roc_auc_score

from services.tensorstream.batch import EventBatch
from services.tensorstream.data import window_labels
from services.tensorstream.detectors.heterocomp import HeteroCompDetector

DAY = 86400.0
PEERS = ["pysad xStream", "pysad RS-Hash", "pysad LODA", "pysad HST", "river HST"]


# -- streams ------------------------------------------------------------------------------------
def flights_split(seed: int, events: EventBatch, test_days: float) -> tuple[EventBatch, EventBatch, np.ndarray]:
    """Train on the 6 weeks before a seed-dependent start; test ``test_days`` with 3 groups per week."""
    from services.tensorstream.flights import flights_stream

    start = events.times[0] + (45 + 60 * seed if seed < 5 else 45) * DAY
    train = events.take(np.flatnonzero((events.times >= start - 42 * DAY) & (events.times < start)))
    stream = flights_stream(events, start, start + test_days * DAY, seed=seed, n_groups=max(3, int(test_days * 0.7)))
    return train, stream.events, stream.labels


def network_split(seed: int, test_days: float) -> tuple[EventBatch, EventBatch, np.ndarray]:
    """Train on one clean day, test the following ``test_days`` (drift and groups)."""
    from services.tensorstream.netgen import network_stream

    stream = network_stream(seed=seed, days=1 + test_days, rate=0.4, n_anomalies=max(3, int(24 * test_days)),
                            anomaly_start=1 / (1 + test_days))
    ev = stream.events
    return (ev.take(np.flatnonzero(ev.times < DAY)), ev.take(np.flatnonzero(ev.times >= DAY)),
            stream.labels[ev.times >= DAY])


# -- peers --------------------------------------------------------------------------------------
class Features:
    """Shared peer features: asinh-scaled continuous attributes, −log frequency of categorical values."""

    def __init__(self, train: EventBatch) -> None:
        x = train.continuous.astype(np.float64)
        self.median = np.median(x, 0)
        self.mad = np.median(np.abs(x - self.median), 0) + 1e-6
        self.freq = []
        for j in range(train.categorical.shape[1]):
            values, counts = np.unique(train.categorical[:, j].astype(str), return_counts=True)
            self.freq.append((dict(zip(values, np.log(counts + 1.0), strict=True)), np.log(len(train) + 1.0)))

    def __call__(self, batch: EventBatch) -> np.ndarray:
        cont = np.arcsinh((batch.continuous - self.median) / self.mad)
        cats = [[total - table.get(str(v), 0.0) for v in batch.categorical[:, j]]
                for j, (table, total) in enumerate(self.freq)]
        return np.column_stack([cont, *[np.asarray(c) for c in cats]]).astype(np.float64)


def peer_scores(name: str, train_x: np.ndarray, test_x: np.ndarray, seed: int) -> np.ndarray:
    """Event scores of one peer (fitted on ``train_x``, scoring ``test_x`` without learning)."""
    lo, hi = train_x.min(0), train_x.max(0) + 1e-9
    np.random.seed(seed)
    if name == "river HST":
        from river import anomaly

        model = anomaly.HalfSpaceTrees(seed=seed, n_trees=25, height=8, window_size=250)
        scale = lambda row: {i: float(v) for i, v in enumerate(np.clip((row - lo) / (hi - lo), 0, 1))}  # noqa: E731
        for row in train_x:
            model.learn_one(scale(row))
        return np.array([model.score_one(scale(row)) for row in test_x])
    from pysad.models import LODA, HalfSpaceTrees, RSHash, xStream

    model = {"pysad xStream": lambda: xStream(),
             "pysad RS-Hash": lambda: RSHash(feature_mins=lo, feature_maxes=hi),
             "pysad LODA": lambda: LODA(),
             "pysad HST": lambda: HalfSpaceTrees(feature_mins=lo, feature_maxes=hi)}[name]()
    model.fit(train_x)
    return np.asarray(model.score(np.clip(test_x, lo, hi) if "HST" in name or "RS" in name else test_x), float)


# -- evaluation ---------------------------------------------------------------------------------
def metrics(event_scores: np.ndarray, labels: np.ndarray, times: np.ndarray, width: float,
            window_scores: np.ndarray | None = None) -> dict[str, float]:
    """Window ROC-AUC / PR-AUC and event AUROC; windows scored by their largest event score unless given."""
    index, flagged = window_labels(times, labels, width)
    if window_scores is None:
        inverse = np.searchsorted(index, np.floor(times / width).astype(np.int64))
        window_scores = np.full(index.size, -np.inf)
        np.maximum.at(window_scores, inverse, np.nan_to_num(event_scores, nan=0.0))
    return {"win_roc": roc_auc_score(flagged, window_scores), "win_pr": average_precision_score(flagged, window_scores),
            "event_auroc": roc_auc_score(labels > 0, np.nan_to_num(event_scores, nan=0.0))}


def heterocomp_runs(train: EventBatch, test: EventBatch, labels: np.ndarray, width: float, k: int,
                    seed: int) -> dict[str, dict[str, float]]:
    """Full model, stream+adapt, and the two ablations."""
    out = {}
    base = {"n_components": k, "window_seconds": width, "seed": seed}
    full = HeteroCompDetector(base).fit(train)
    scores, windows = full.score_windows(test)
    index, _ = window_labels(test.times, labels, width)
    assert np.array_equal(windows.index, index)
    out["HeteroComp"] = metrics(scores, labels, test.times, width, windows.score)
    state = full.initial_stream_state()
    w = np.floor(test.times / width).astype(np.int64)
    parts, rows = [], []
    for chunk in np.split(np.arange(len(test)), np.flatnonzero(np.diff(w)) + 1):
        output, state = full.stream_process(test.take(chunk), state, adapt=True)
        parts.append(output.scores)
        rows.append(output.windows.score)
    output, state = full.stream_process(test.take(slice(0, 0)), state, adapt=True, flush=True)
    rows.append(output.windows.score)
    out["HeteroComp stream+adapt"] = metrics(np.concatenate(parts), labels, test.times, width, np.concatenate(rows))
    static = HeteroCompDetector({**base, "use_temporal_gp": False}).fit(train)
    s_scores, s_windows = static.score_windows(test)
    out["ablation: static (no GP)"] = metrics(s_scores, labels, test.times, width, s_windows.score)
    plain = HeteroCompDetector({**base, "use_group_score": False}).fit(train)
    out["ablation: no group score"] = metrics(plain.score(test), labels, test.times, width)
    return out


def choose_k(split: Callable[[int], tuple], width: float, candidates: list[int]) -> tuple[int, dict[int, float]]:
    """K by window PR-AUC on the validation seed (99)."""
    train, test, labels = split(99)
    found = {}
    for k in candidates:
        detector = HeteroCompDetector(n_components=k, window_seconds=width, seed=99).fit(train)
        found[k] = metrics(*detector.score_windows(test)[:1], labels, test.times, width,
                           detector.window_scores(test).score)["win_pr"]
    return max(found, key=found.get), found


def throughput_and_memory(quick: bool) -> dict[str, float]:
    """stream_step events/s, and RSS / state size after 100 k and 1 M streamed events (adapt on)."""
    from services.tensorstream.netgen import network_stream

    def rss_mb() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    train = network_stream(seed=7, days=0.25, rate=2.0, n_anomalies=0).events
    detector = HeteroCompDetector(window_seconds=60.0).fit(train)
    total = 200_000 if quick else 1_000_000
    stream = network_stream(seed=8, days=total / (6.0 * DAY), rate=12.0, n_anomalies=20, anomaly_start=0.05).events
    stream = stream.take(slice(0, total))
    state = detector.initial_stream_state()
    out: dict[str, float] = {}
    started, seen = time.perf_counter(), 0
    for begin in range(0, len(stream), 1000):
        _, state = detector.stream_step(stream.take(slice(begin, begin + 1000)), state, adapt=True)
        seen += min(1000, len(stream) - begin)
        if seen == 100_000:
            out["rss_mb_100k"], out["state_kb_100k"] = rss_mb(), sum(v.nbytes for v in state.values()) / 1024
    out["events_per_s"] = seen / (time.perf_counter() - started)
    out["events"] = seen
    out["rss_mb_end"], out["state_kb_end"] = rss_mb(), sum(v.nbytes for v in state.values()) / 1024
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _messages(events, chunk: int) -> list:  # type: ignore[no-untyped-def]
    from polyad.tensorstream.v1 import tensorstream_pb2 as pb
    from services.core.codecs import from_numpy

    out = []
    for begin in range(0, len(events), chunk):
        part = events.take(slice(begin, begin + chunk))
        out.append(pb.StreamDetectRequest(stream_id="bench", adapt=True, events=pb.Events(
            times=from_numpy(part.times),
            categorical=[pb.CategoricalColumn(name=n, values=part.categorical[:, j].astype(str).tolist())
                         for j, n in enumerate(part.categorical_names)],
            continuous=[pb.ContinuousColumn(name=n, values=from_numpy(np.ascontiguousarray(part.continuous[:, j])))
                        for j, n in enumerate(part.continuous_names)])))
    return out


def grpc_stream_throughput(total: int = 1_000_000, chunk: int = 2000, mark: int = 100_000) -> dict[str, float]:
    """events/s through gRPC StreamDetect of one service process (inline backend, adapt on, ``chunk`` events per
    message, messages encoded before the clock starts) and the service's RSS (MB) after ``mark`` and ``total``
    events."""
    import grpc

    from polyad.tensorstream.v1 import tensorstream_pb2_grpc as pb_grpc
    from services.core.store import ModelStore
    from services.core.training import fit_and_store
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector
    from services.tensorstream.netgen import network_stream

    store = tempfile.mkdtemp(prefix="ts-bench-store-")
    train = network_stream(seed=7, days=0.25, rate=2.0, n_anomalies=0).events
    split = round(len(train) * 0.8)
    fit_and_store(ModelStore(store), "tensorstream", HeteroCompDetector(window_seconds=60.0),
                  train.take(slice(0, split)), train.take(slice(split, len(train))))
    stream = network_stream(seed=8, days=total / (6.0 * 86400.0), rate=12.0, n_anomalies=20,
                            anomaly_start=0.05).events.take(slice(0, total))
    messages = _messages(stream, chunk)
    port = _free_port()
    env = {**os.environ, "POLYAD_TENSORSTREAM_ADDRESS": f"127.0.0.1:{port}",
           "POLYAD_TENSORSTREAM_STORE_ROOT": store, "POLYAD_TENSORSTREAM_MAX_EVENTS": str(max(chunk, 1000))}
    server = subprocess.Popen([sys.executable, "-m", "services.core.app", "tensorstream"], cwd=ROOT_DIR, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, float] = {"events": float(len(stream)), "chunk": float(chunk)}
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=120)
            stub = pb_grpc.TensorStreamServiceStub(channel)
            warm = list(stub.StreamDetect(iter(messages[:2]), timeout=120))  # load the model, first windows
            assert not any(r.HasField("error") for r in warm), warm[0].error
            out["rss_mb_start"] = _rss_mb(server.pid)
            started, seen, errors = time.perf_counter(), 0, 0
            for reply in stub.StreamDetect(iter(messages), timeout=3600):
                errors += reply.HasField("error")
                seen += len(reply.scores.data) // 4  # float32 scores, one per event
                if "rss_mb_100k" not in out and seen >= mark:
                    out["rss_mb_100k"] = _rss_mb(server.pid)
                    out["seconds_100k"] = time.perf_counter() - started
            out["seconds"] = time.perf_counter() - started
            out["events_per_s"] = len(stream) / out["seconds"]
            out["rss_mb_end"] = _rss_mb(server.pid)
            out["errors"], out["scored"] = float(errors), float(seen)
    finally:
        server.terminate()
        server.wait(30)
    return out



def print_grpc(perf: dict[str, float]) -> None:
    """The gRPC table."""
    print_table("HeteroComp gRPC StreamDetect, one service process (network stream, 2,000 events per message, "
                "adapt on)",
                ["events", "events/s", "RSS MB @start", "RSS MB @100k", "RSS MB @end", "end/100k", "errors"],
                [[str(int(perf["scored"])), f"{perf['events_per_s']:.0f}", f"{perf['rss_mb_start']:.1f}",
                  f"{perf['rss_mb_100k']:.1f}", f"{perf['rss_mb_end']:.1f}",
                  f"{perf['rss_mb_end'] / perf['rss_mb_100k']:.3f}", str(int(perf["errors"]))]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, short test periods, no K search")
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--peer-train", type=int, default=3000, help="training events given to each peer")
    parser.add_argument("--json", default=None)
    parser.add_argument("--grpc-events", type=int, default=None, help="events streamed over gRPC (default 1 M; "
                        "200 k with --quick)")
    parser.add_argument("--grpc-only", action="store_true", help="run only the gRPC throughput / memory figure")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    grpc_events = args.grpc_events or (200_000 if args.quick else 1_000_000)
    if args.grpc_only:
        print_grpc(grpc_stream_throughput(grpc_events))
        return
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    from services.tensorstream.flights import flight_events

    flights = flight_events()
    days = {"flights": 7.0 if args.quick else 14.0, "network": 0.25 if args.quick else 0.5}
    splits = {"flights": (lambda s: flights_split(s, flights, days["flights"]), 3600.0),
              "network": (lambda s: network_split(s, days["network"]), 60.0)}
    results: dict[str, Any] = {"seeds": seeds, "streams": {}}
    for stream, (split, width) in splits.items():
        k, search = (8, {}) if args.quick else choose_k(split, width, [4, 8, 16])
        print(f"[{stream}] K = {k} (validation window PR-AUC {search})", flush=True)
        per_method: dict[str, list[dict[str, float]]] = {}
        for seed in seeds:
            train, test, labels = split(seed)
            started = time.perf_counter()
            for name, m in heterocomp_runs(train, test, labels, width, k, seed).items():
                per_method.setdefault(name, []).append(m)
            print(f"[{stream} seed {seed}] {len(train)} train / {len(test)} test events, "
                  f"{int((labels > 0).sum())} anomalous; HeteroComp runs {time.perf_counter() - started:.1f} s",
                  flush=True)
            features = Features(train)
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(len(train), size=min(args.peer_train, len(train)), replace=False))
            train_x, test_x = features(train.take(pick)), features(test)
            for name in PEERS:
                started = time.perf_counter()
                scores = peer_scores(name, train_x, test_x, seed)
                per_method.setdefault(name, []).append(metrics(scores, labels, test.times, width))
                print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)
        results["streams"][stream] = {"k": k, "k_search": search, "methods": per_method}
        rows = []
        for name, runs in per_method.items():
            cells = []
            for key in ("win_roc", "win_pr", "event_auroc"):
                values = np.array([r[key] for r in runs])
                cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
            rows.append([name, *cells])
        print_table(f"{stream} stream, {len(seeds)} seed(s), mean ± sd", ["method", "window ROC-AUC",
                    "window PR-AUC", "event AUROC"], rows)
    perf = throughput_and_memory(args.quick)
    results["throughput"] = perf
    print_table("HeteroComp stream_step in-process (network stream, 1,000 events per call, adapt on)",
                ["events", "events/s", "RSS MB @100k", "RSS MB @end", "state KB @100k", "state KB @end"],
                [[str(int(perf["events"])), f"{perf['events_per_s']:.0f}", f"{perf['rss_mb_100k']:.1f}",
                  f"{perf['rss_mb_end']:.1f}", f"{perf['state_kb_100k']:.1f}", f"{perf['state_kb_end']:.1f}"]])
    results["grpc"] = grpc_stream_throughput(grpc_events)
    print_grpc(results["grpc"])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
