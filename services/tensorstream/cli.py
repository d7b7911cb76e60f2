"""``polyad train|score|eval tensorstream``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "file_as_jsonl", "score", "train"]

console = Console(width=140)


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the tensor-stream commands."""
    parsers["train"].add_argument("--categorical", default="",
                                  help="tensorstream: comma-separated categorical attributes of --data")
    parsers["train"].add_argument("--continuous", default="",
                                  help="tensorstream: comma-separated continuous attributes of --data")
    for name in ("train", "score"):
        parsers[name].add_argument("--time-field", default="time",
                                   help="tensorstream: the time column (seconds or ISO 8601)")


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def train(args: argparse.Namespace) -> int:
    """Fit on a normal event log (the trailing ``--calibration-fraction`` calibrates), or the default stream."""
    from services.core.errors import InvalidInputError
    from services.tensorstream.batch import EventSchema
    from services.tensorstream.defaults import train_default_model
    from services.tensorstream.loaders import load_events

    def load_split(overrides: dict) -> tuple:
        categorical = _names(args.categorical) or tuple(overrides.get("categorical") or ())
        continuous = _names(args.continuous) or tuple(overrides.get("continuous") or ())
        if not categorical and not continuous:
            raise InvalidInputError("name the attributes: --categorical a,b --continuous c,d")
        schema = EventSchema(time=args.time_field, categorical=categorical, continuous=continuous)
        overrides.update(categorical=list(categorical), continuous=list(continuous))
        events = load_events(args.data, schema)
        split = round(len(events) * (1.0 - args.calibration_fraction))
        return events.take(slice(0, split)), events.take(slice(split, len(events)))

    return train_version(
        args, "tensorstream",
        lambda store, overrides: train_default_model(store, progress=True, overrides=overrides),
        load_split,
    )


def file_as_jsonl(path: str, time_field: str = "time") -> bytes:
    """JSON lines of an event log (every column; the time column renamed ``time``, rows sorted by time)."""
    import pandas as pd

    source = Path(path)
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(source, lines=True, convert_dates=False, dtype=False)
    elif suffix == ".csv":
        frame = pd.read_csv(source)
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(source)
    else:
        raise ValueError(f"{source.name}: expected .csv, .parquet or .jsonl")
    if time_field not in frame.columns:
        raise ValueError(f"{source.name} has no time column {time_field!r}; set --time-field")
    times = frame[time_field]
    if not pd.api.types.is_numeric_dtype(times):
        times = (pd.to_datetime(times, utc=True) - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    frame = frame.drop(columns=[time_field]).assign(time=times.astype(np.float64))
    return frame.sort_values("time", kind="stable").to_json(orient="records", lines=True).encode()


def _request(path: str, time_field: str, rule: str, alpha: float):  # type: ignore[no-untyped-def]
    from polyad.common.v1 import common_pb2
    from polyad.tensorstream.v1 import tensorstream_pb2
    from services.core.gateway_request import gateway_detect_request
    from services.core.responses import RULES_BY_NAME

    message = tensorstream_pb2.DetectRequest(
        events=tensorstream_pb2.Events(jsonl=file_as_jsonl(path, time_field)),
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha))
    return gateway_detect_request(message)


def score(args: argparse.Namespace) -> int:
    """Score each event log through the gateway; print the most anomalous windows and the flagged events."""
    import grpc

    from polyad.gateway.v1 import gateway_pb2_grpc
    from polyad.tensorstream.v1 import tensorstream_pb2
    from services.core.codecs import to_numpy

    reports = []
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            try:
                reply = stub.Detect(_request(path, args.time_field, args.rule, args.alpha), timeout=args.timeout)
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            answer = tensorstream_pb2.DetectResponse()
            reply.other.Unpack(answer)
            scores, flags = to_numpy(answer.scores), to_numpy(answer.decisions.anomalous)
            windows = sorted(answer.windows, key=lambda w: -w.score)[:10]
            reports.append({"file": path, "events": int(scores.size), "flagged_events": int(flags.sum()),
                            "flagged_event_index": np.flatnonzero(flags)[:50].tolist(),
                            "top_windows": [{"start": w.start, "events": w.event_count,
                                             "expected": round(w.expected_count, 1), "score": round(w.score, 3),
                                             "p_value": float(to_numpy(w.decision.p_values)[0]),
                                             "anomalous": bool(to_numpy(w.decision.anomalous)[0]),
                                             "component": w.component, "intensity": round(w.intensity, 2),
                                             "burst": round(w.burst, 2), "joint": round(w.joint, 2)}
                                            for w in windows]})
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        table = Table(title=f"{report['file']}: {report['events']} events, {report['flagged_events']} flagged; "
                            "top windows")
        for column in ("start", "events", "expected", "score", "p-value", "anomalous", "component", "intensity",
                       "burst", "joint"):
            table.add_column(column, justify="right")
        for w in report["top_windows"]:
            table.add_row(f"{w['start']:.0f}", str(w["events"]), str(w["expected"]), f"{w['score']:.3f}",
                          f"{w['p_value']:.3g}", str(w["anomalous"]), str(w["component"]), str(w["intensity"]),
                          str(w["burst"]), str(w["joint"]))
        console.print(table)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Train on clean generated network traffic, score a later stretch with DoS / scans / exfiltration."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from services.tensorstream.data import window_labels
    from services.tensorstream.defaults import DEFAULT_CONFIG
    from services.tensorstream.detectors.heterocomp import HeteroCompDetector
    from services.tensorstream.netgen import network_stream

    hours = 8 if args.quick else 24
    stream = network_stream(seed=1, days=(hours + hours / 2) / 24.0, rate=1.0, n_anomalies=12,
                            anomaly_start=hours / (hours * 1.5))
    events, labels = stream.events, stream.labels
    split = hours * 3600.0
    train = events.take(np.flatnonzero((events.times < split) & (labels == 0)))
    test_index = np.flatnonzero(events.times >= split)
    test, test_labels = events.take(test_index), labels[test_index]
    detector = HeteroCompDetector(DEFAULT_CONFIG).fit(train)
    scores, windows = detector.score_windows(test)
    index, flagged = window_labels(test.times, test_labels, DEFAULT_CONFIG["window_seconds"])
    by_index = dict(zip(windows.index.tolist(), windows.score.tolist(), strict=True))
    window_scores = np.array([by_index.get(int(w), 0.0) for w in index])
    table = Table(title=f"HeteroComp on the generated network stream ({hours} h train, {hours // 2} h test)")
    for column in ("events", "anomalous events", "event AUROC", "windows", "window ROC-AUC", "window PR-AUC"):
        table.add_column(column, justify="right")
    table.add_row(str(len(test)), str(int((test_labels > 0).sum())), f"{roc_auc_score(test_labels > 0, scores):.3f}",
                  str(index.size), f"{roc_auc_score(flagged, window_scores):.3f}",
                  f"{average_precision_score(flagged, window_scores):.3f}")
    console.print(table)
    return 0
