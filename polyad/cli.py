"""The ``polyad`` command line: ``up``, ``train``, ``score``, ``eval``.

Heavy imports (torch, ray) happen inside the sub-commands, so ``polyad --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from polyad.service_table import SERVICES

__all__ = ["build_parser", "main"]


def _service_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SERVICES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown services {unknown}; choose from {', '.join(SERVICES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="polyad", description="Polyad anomaly detection suite.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start a local Ray, every service and the gateway (trains defaults once)")
    up.add_argument("--backend", choices=["ray", "inline"], default="ray", help="where model replicas run")
    up.add_argument("--replicas", type=int, default=1, help="Ray Serve replicas per model")
    up.add_argument("--store", help="model store root (default $POLYAD_MODEL_STORE or ~/.cache/polyad/models)")
    up.add_argument("--host", default="127.0.0.1", help="interface every component binds")
    up.add_argument("--grpc-port", type=int, default=50051, help="gateway gRPC port")
    up.add_argument("--http-port", type=int, default=8080, help="gateway REST port")
    for name, entry in SERVICES.items():
        up.add_argument(f"--{name}-port", type=int, default=entry.port, help=f"{name} service port")
    up.add_argument("--services", type=_service_list, default=None,
                    help=f"comma-separated services to start, from {','.join(SERVICES)} (default: every service "
                         "whose default detector is installed)")

    train = sub.add_parser("train", help="train a detector on normal data and store a new version")
    train.add_argument("service", choices=SERVICES)
    train.add_argument("--data", help="timeseries: CSV / UCR .txt / TSB-AD CSV; vision: a folder of normal images "
                       "or an MVTec category; logs: a raw log file or a loghub HDFS folder; graph: a labelled graph "
                       "folder (edges + features + labels) or PyG .pt (default: the bundled or generated data)")
    defaults = " / ".join(f"{name}: {entry.default_detector}" for name, entry in SERVICES.items())
    train.add_argument("--detector", help=f"detector to train (default: {defaults})")
    train.add_argument("--config", default="{}", help="detector configuration overrides as JSON")
    train.add_argument("--calibration-fraction", type=float, default=0.2, help="trailing share held out")
    train.add_argument("--store", help="model store root")

    score = sub.add_parser("score", help="score files through the running gateway")
    score.add_argument("service", choices=SERVICES)
    score.add_argument("files", nargs="+", help="series files (CSV / UCR .txt / TSB-AD CSV), images (PNG/JPEG), "
                       "raw log files, or graphs (folder with edges + features, or PyG .pt)")
    score.add_argument("--gateway", default="127.0.0.1:50051", help="gateway gRPC address")
    score.add_argument("--rule", choices=["alpha", "bh", "by"], default="alpha", help="decision rule")
    score.add_argument("--alpha", type=float, default=0.01, help="level or FDR target")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.add_argument("--plot", help="timeseries: write a PNG of the series with flagged regions to this path")
    score.add_argument("--heatmap", help="vision: write <image>.heatmap.png overlays into this folder")
    score.add_argument("--session-pattern", default="",
                       help="logs: regex whose first group keys a line's session (default: the model's)")
    score.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answer")

    evaluate = sub.add_parser("eval", help="train on train splits, score held-out test splits, print metrics")
    evaluate.add_argument("service", choices=SERVICES)
    evaluate.add_argument("--quick", action="store_true", help="small models, for a fast look")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``polyad`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "up":
        from polyad.commands.up import run_up

        return run_up(args)
    from services.core.errors import PolyadError

    module = importlib.import_module(f"polyad.commands.{args.service}")
    if getattr(args, "detector", "") is None:
        args.detector = SERVICES[args.service].default_detector
    handler = {"train": module.train, "score": module.score, "eval": module.evaluate}[args.command]
    try:
        return handler(args)
    except (PolyadError, OSError) as error:
        print(f"polyad {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
