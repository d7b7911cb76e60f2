"""``polyad train|score|eval logs``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "load_training_sessions", "score", "train"]


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the logs commands."""
    parsers["score"].add_argument("--session-pattern", default="",
                                  help="logs: regex whose first group keys a line's session (default: the model's)")

console = Console(width=140)


def load_training_sessions(path: str, overrides: dict) -> np.ndarray:
    """Normal sessions ``(n,)`` from a loghub HDFS folder (HDFS.log + anomaly_label.csv) or a raw log file.

    A raw file is grouped by the config's ``session_pattern`` (windows of ``window_lines`` otherwise).
    """
    from services.core.errors import InvalidInputError
    from services.logs.data import load_hdfs
    from services.logs.text import group_lines, join_sessions, split_text

    root = Path(path)
    if root.is_dir():
        if not (root / "HDFS.log").exists():
            raise InvalidInputError(f"{root} has no HDFS.log; pass a raw log file or a loghub HDFS folder")
        return load_hdfs(root / "HDFS.log", root / "anomaly_label.csv").normal()
    lines = split_text(root.read_bytes())
    groups = group_lines(lines, overrides.get("session_pattern", ""), int(overrides.get("window_lines", 50)))
    return join_sessions(g for _, g in groups)


def _one_torch_thread() -> None:
    """One intra-op thread: on a busy 2-core machine more threads spin and slow training many-fold."""
    import torch

    torch.set_num_threads(1)


def train(args: argparse.Namespace) -> int:
    """Fit a detector locally on normal logs and store a new version."""
    from services.core.training import chronological_split
    from services.logs.defaults import train_default_model

    _one_torch_thread()
    return train_version(
        args, "logs",
        lambda store, overrides: train_default_model(store, progress=True, overrides=overrides),
        lambda overrides: chronological_split(load_training_sessions(args.data, overrides), args.calibration_fraction),
    )


def score(args: argparse.Namespace) -> int:
    """Score raw log files through the gateway; list the flagged sessions with the lines that drove them."""
    import grpc

    from polyad.common.v1 import common_pb2
    from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from polyad.logs.v1 import logs_pb2
    from services.core.responses import RULES_BY_NAME

    reports = []
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            detect = logs_pb2.DetectRequest(
                file=logs_pb2.LogFile(name=Path(path).name, content=Path(path).read_bytes(),
                                     session_pattern=args.session_pattern), top_lines=3,
                policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[args.rule], alpha=args.alpha))
            try:
                reply = stub.Detect(gateway_pb2.DetectRequest(logs=detect), timeout=args.timeout).logs
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            flagged = [{"session": r.id, "score": round(r.score, 3), "p_value": r.p_value, "lines": r.line_count,
                        "top_lines": [{"index": x.index, "score": round(x.score, 3), "text": x.text}
                                      for x in r.top_lines]}
                       for r in sorted(reply.results, key=lambda r: -r.score) if r.anomalous]
            reports.append({"file": path, "model": reply.model.version, "sessions": len(reply.results),
                            "flagged": flagged})
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        table = Table(title=f"{report['file']}: {len(report['flagged'])} of {report['sessions']} sessions flagged "
                            f"(logs model {report['model']})")
        for column in ("session", "score", "p-value", "lines", "top lines (score: text)"):
            table.add_column(column)
        for item in report["flagged"]:
            lines = "\n".join(f"#{x['index']} {x['score']}: {x['text'][-90:]}" for x in item["top_lines"])
            table.add_row(item["session"], str(item["score"]), f"{item['p_value']:.2g}", str(item["lines"]), lines)
        console.print(table)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """ContraLog on the generated HDFS-like and BGL-like logs: P/R/F1/AUPRC on a chronological split."""
    from services.logs.data import generated_bgl, generated_hdfs
    from services.logs.detectors.contralog import ContraLogDetector
    from services.logs.evaluation import evaluate_method

    _one_torch_thread()
    sizes = (1500, 20_000, 150) if args.quick else (6000, 120_000, 600)
    table = Table(title="ContraLog on generated logs (chronological split, natural anomaly rate)")
    for column in ("data set", "precision", "recall", "F1", "AUPRC", "fit s", "lines/s"):
        table.add_column(column, justify="right")
    for dataset in (generated_hdfs(sizes[0], seed=1), generated_bgl(sizes[1], seed=1)):
        row = evaluate_method(lambda x: ContraLogDetector({"train_steps": sizes[2]}).fit(x),
                              lambda m, x: m.score(x), dataset)
        table.add_row(dataset.name, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1", "auprc")),
                      f"{row['fit_s']:.0f}", f"{row['lines_per_s']:.0f}")
    console.print(table)
    return 0
