"""``polyad train|score|eval timeseries``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "load_series_file", "score", "train"]


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the time-series commands."""
    parsers["score"].add_argument("--plot", help="timeseries: write a PNG of the series with flagged regions here")

console = Console(width=120)
UCR_NAME = re.compile(r"_UCR_Anomaly_.*_(\d+)_(\d+)_(\d+)\.txt$")
TSB_NAME = re.compile(r"_tr_(\d+)_1st_(\d+)\.csv$")


def load_series_file(path: str, train_part: bool) -> np.ndarray:
    """A ``(T, C)`` float32 series from a UCR .txt, a TSB-AD CSV or a plain CSV.

    With ``train_part``, UCR and TSB-AD files give only their normal training prefix.
    """
    from services.timeseries import data

    name = Path(path).name
    if UCR_NAME.search(name):
        series = data.load_ucr_anomaly(path)
        return series.train if train_part else np.concatenate([series.train, series.test])
    if TSB_NAME.search(name):
        series = data.load_tsb_ad_csv(path)
        return series.train if train_part else np.concatenate([series.train, series.test])
    return data.read_series_csv(Path(path))


def train(args: argparse.Namespace) -> int:
    """Fit a detector locally on normal data and store a new version."""
    from services.core.training import chronological_split
    from services.timeseries.defaults import train_default_model

    return train_version(
        args, "timeseries",
        lambda store, overrides: train_default_model(store, progress=True, overrides=overrides),
        lambda overrides: chronological_split(load_series_file(args.data, train_part=True), args.calibration_fraction),
    )


def _request(values: np.ndarray, name: str, rule: str, alpha: float):  # type: ignore[no-untyped-def]
    from polyad.common.v1 import common_pb2
    from polyad.gateway.v1 import gateway_pb2
    from polyad.timeseries.v1 import timeseries_pb2
    from services.core.codecs import from_numpy
    from services.core.responses import RULES_BY_NAME

    detect = timeseries_pb2.DetectRequest(
        series=[timeseries_pb2.Series(id=name, values=from_numpy(values))],
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
    )
    return gateway_pb2.DetectRequest(timeseries=detect)


def score(args: argparse.Namespace) -> int:
    """Score each file through the gateway; print flagged regions (table or JSON), optionally plot."""
    import grpc

    from polyad.gateway.v1 import gateway_pb2_grpc
    from services.core.codecs import to_numpy

    reports = []
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            values = load_series_file(path, train_part=False)
            try:
                reply = stub.Detect(_request(values, Path(path).name, args.rule, args.alpha), timeout=args.timeout)
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            result = reply.timeseries.results[0]
            scores = to_numpy(result.scores)
            regions = [{"start": r.start, "end": r.end, "peak_score": round(r.peak_score, 4),
                        "min_p_value": r.min_p_value} for r in result.regions]
            reports.append({"file": path, "points": len(values), "model": reply.timeseries.model.version,
                            "max_score": result.max_score, "regions": regions})
            if args.plot:
                _plot(values, scores, regions, args.plot, Path(path).name)
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        title = f"{Path(report['file']).name}: {report['points']} points, {len(report['regions'])} flagged regions"
        table = Table(title=title)
        for column in ("start", "end", "length", "peak score", "min p-value"):
            table.add_column(column, justify="right")
        for r in sorted(report["regions"], key=lambda r: -r["peak_score"])[:20]:
            table.add_row(str(r["start"]), str(r["end"]), str(r["end"] - r["start"]), f"{r['peak_score']:.3f}",
                          f"{r['min_p_value']:.2g}")
        console.print(table)
    return 0


def _plot(values: np.ndarray, scores: np.ndarray, regions: list[dict], out: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 5), sharex=True)
    top.plot(values, linewidth=0.6)
    bottom.plot(scores, color="black", linewidth=0.6)
    for region in regions:
        for axis in (top, bottom):
            axis.axvspan(region["start"], region["end"], color="red", alpha=0.3)
    top.set_title(f"{title}: flagged regions in red")
    bottom.set_ylabel("anomaly score")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def evaluate(args: argparse.Namespace) -> int:
    """Held-out metrics of COMET on the bundled and generated data."""
    from services.timeseries.experiments import DATASETS, comet_factory, evaluate_detector

    table = Table(title="COMET on held-out test splits (no point adjustment)")
    for column in ("dataset", "points", "anomaly %", "VUS-PR", "VUS-ROC", "range F1", "point F1", "AUROC"):
        table.add_column(column, justify="right")
    for name, load in DATASETS.items():
        series = load()
        row = evaluate_detector(comet_factory(quick=args.quick), series)
        table.add_row(name, str(len(series.test)), f"{100 * series.test_labels.mean():.1f}",
                      *(f"{row[k]:.3f}" for k in ("vus_pr", "vus_roc", "range_f1", "point_f1", "auroc")))
    console.print(table)
    return 0
