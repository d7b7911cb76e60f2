"""``polyad train|score|eval traffic``."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "score", "train"]

console = Console(width=140)


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the traffic commands."""
    parsers["train"].add_argument("--adjacency", default=None,
                                  help="traffic: edge-list CSV (from,to[,cost]) or .npy matrix of --data's sensors")
    for name in ("train", "score"):
        parsers[name].add_argument("--time-column", default=None,
                                   help="traffic: the timestamp column of sensor CSVs (default: the first)")


def train(args: argparse.Namespace) -> int:
    """Fit on a sensor CSV + adjacency (the trailing ``--calibration-fraction`` calibrates), or the default."""
    from services.core.errors import InvalidInputError
    from services.traffic.batch import SensorBatch
    from services.traffic.defaults import train_default_model
    from services.traffic.loaders import load_adjacency, load_sensor_csv

    def load_split(overrides: dict) -> tuple:
        if args.adjacency is None:
            raise InvalidInputError("--adjacency is required with --data", "adjacency")
        table = load_sensor_csv(args.data, args.time_column)
        adjacency = load_adjacency(args.adjacency, table.sensors)
        overrides.setdefault("sensors", table.sensors)
        overrides.setdefault("features", ["speed"])
        split = round(len(table.times) * (1.0 - args.calibration_fraction))
        fit = SensorBatch(table.readings[:split], table.times[:split], table.missing[:split], adjacency=adjacency)
        calibration = SensorBatch(table.readings[split:], table.times[split:], table.missing[split:],
                                  context=table.readings[:split])
        return fit, calibration

    return train_version(args, "traffic", lambda store, overrides: train_default_model(store, True, overrides),
                         load_split)


def score(args: argparse.Namespace) -> int:
    """Score sensor CSVs through the gateway (BY / BH / alpha over all cells); print the flagged cells."""
    import grpc

    from polyad.common.v1 import common_pb2
    from polyad.gateway.v1 import gateway_pb2_grpc
    from polyad.traffic.v1 import traffic_pb2
    from services.core.codecs import from_numpy
    from services.core.gateway_request import gateway_detect_request
    from services.core.responses import RULES_BY_NAME
    from services.traffic.loaders import load_sensor_csv

    reports = []
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            table = load_sensor_csv(path, args.time_column)
            message = traffic_pb2.DetectRequest(
                snapshots=traffic_pb2.Snapshots(readings=from_numpy(table.readings), times=from_numpy(table.times),
                                                missing=from_numpy(table.missing)),
                policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[args.rule], alpha=args.alpha))
            try:
                reply = stub.Detect(gateway_detect_request(message), timeout=args.timeout)
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            answer = traffic_pb2.DetectResponse()
            reply.other.Unpack(answer)
            reports.append({"file": path, "cells": int(table.readings.shape[0] * table.readings.shape[1]),
                            "flagged": [{"time": c.time, "sensor": c.sensor, "p_value": c.p_value,
                                         "score": round(c.score, 3)} for c in answer.flagged[:50]],
                            "flagged_count": len(answer.flagged)})
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        table = Table(title=f"{report['file']}: {report['cells']} cells, {report['flagged_count']} flagged")
        for column in ("time", "sensor", "score", "p-value"):
            table.add_column(column, justify="right")
        for cell in report["flagged"]:
            table.add_row(f"{cell['time']:.0f}", cell["sensor"], str(cell["score"]), f"{cell['p_value']:.3g}")
        console.print(table)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Simulate cologne8 with incidents; report coverage, FDR, power and delay of BY vs BH (default model)."""
    from services.traffic.defaults import DEFAULT_CONFIG, default_training_data
    from services.traffic.detectors.pu_gat import PUGATDetector
    from services.traffic.evaluation import detection_figures, incident_run

    quick = bool(getattr(args, "quick", False))
    train, calibration, graph = default_training_data(seconds=900.0 if quick else 1500.0)
    detector = PUGATDetector({**DEFAULT_CONFIG, "sensors": list(graph.sensors)}).fit(train)
    calibration_scores = detector.score(calibration)
    table = Table(title="PU-GAT+ / CRFN on simulated cologne8 runs with injected incidents (alpha = 0.05)")
    for column in ("run", "rule", "coverage@90%", "FDR", "power", "delay (s)"):
        table.add_column(column, justify="right")
    for seed in (1, 2) if quick else (1, 2, 3):
        run = incident_run("cologne8", seed=500 + seed, seconds=900.0 if quick else 1800.0)
        for rule in ("by", "bh"):
            figures = detection_figures(detector, calibration_scores, run, rule, 0.05, 0.9,
                                        context=calibration.readings[-8:])
            table.add_row(str(seed), rule, f"{figures['coverage']:.3f}", f"{figures['fdr']:.3f}",
                          f"{figures['power']:.3f}", f"{figures['delay_s']:.0f}")
    console.print(table)
    return 0
