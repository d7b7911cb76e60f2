"""The ``polyad`` command line: ``up``, ``serve``, ``services``, ``train``, ``score``, ``eval``.

The service list and each service's commands come from the registered service specs
(:mod:`services.core.spec`); heavy imports (torch, ray) happen inside the sub-commands, so
``polyad --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from services.core.spec import ServiceSpec, load_object, service_specs

__all__ = ["build_parser", "main"]


def _service_list(text: str) -> list[str]:
    specs = service_specs()
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(specs))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown services {unknown}; choose from {', '.join(specs)}")
    return names


def _add_up(sub: argparse._SubParsersAction, specs: dict[str, ServiceSpec]) -> None:
    up = sub.add_parser("up", help="start a local Ray, every service and the gateway (trains defaults once)")
    up.add_argument("--backend", choices=["ray", "inline"], default="ray", help="where model replicas run")
    up.add_argument("--replicas", type=int, default=1, help="Ray Serve replicas per model")
    up.add_argument("--cpus-per-replica", type=float, default=None,
                    help="Ray CPUs per replica (default: the CPUs Ray reports shared over every replica)")
    up.add_argument("--gpus-per-replica", type=float, default=0.0, help="Ray GPUs per replica (where GPUs exist)")
    up.add_argument("--store", help="model store root (default $POLYAD_MODEL_STORE or ~/.cache/polyad/models)")
    up.add_argument("--host", default="127.0.0.1", help="interface every component binds")
    up.add_argument("--grpc-port", type=int, default=50051, help="gateway gRPC port")
    up.add_argument("--http-port", type=int, default=8080, help="gateway REST port")
    for name, spec in specs.items():
        up.add_argument(f"--{name}-port", type=int, default=spec.port, help=f"{name} service port")
    up.add_argument("--services", type=_service_list, default=None,
                    help=f"comma-separated services to start, from {','.join(specs)} (default: every service "
                         "whose default detector is installed)")
    up.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for each component")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command, derived from the registered service specs."""
    specs = service_specs()
    parser = argparse.ArgumentParser(prog="polyad", description="Polyad anomaly detection suite.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_up(sub, specs)

    serve = sub.add_parser("serve", help="run one service in the foreground (as its container does)")
    serve.add_argument("service", choices=specs)
    serve.add_argument("--config", help="YAML settings file (env vars POLYAD_<SERVICE>_* override it)")

    services = sub.add_parser("services", help="list the running gateway's services, readiness and detectors "
                              "that cannot run (exit 1 while one is not ready)")
    services.add_argument("--gateway", default="127.0.0.1:50051", help="gateway gRPC address")
    services.add_argument("--json", action="store_true", help="print JSON instead of a table")
    services.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer")

    with_cli = {name: spec for name, spec in specs.items() if spec.cli}
    train = sub.add_parser("train", help="train a detector on normal data and store a new version")
    train.add_argument("service", choices=with_cli)
    train.add_argument("--data", help="; ".join(f"{name}: {spec.data_help}" for name, spec in with_cli.items())
                       + " (default: the bundled or generated data)")
    defaults = " / ".join(f"{name}: {spec.default_detector}" for name, spec in with_cli.items())
    train.add_argument("--detector", help=f"detector to train (default: {defaults})")
    train.add_argument("--config", default="{}", help="detector configuration overrides as JSON")
    train.add_argument("--calibration-fraction", type=float, default=0.2, help="trailing share held out")
    train.add_argument("--store", help="model store root")

    score = sub.add_parser("score", help="score files through the running gateway")
    score.add_argument("service", choices=with_cli)
    score.add_argument("files", nargs="+", help="; ".join(f"{n}: {s.files_help}" for n, s in with_cli.items()))
    score.add_argument("--gateway", default="127.0.0.1:50051", help="gateway gRPC address")
    score.add_argument("--rule", choices=["alpha", "bh", "by"], default="alpha", help="decision rule")
    score.add_argument("--alpha", type=float, default=0.01, help="level or FDR target")
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answer")

    evaluate = sub.add_parser("eval", help="train on train splits, score held-out test splits, print metrics")
    evaluate.add_argument("service", choices=with_cli)
    evaluate.add_argument("--quick", action="store_true", help="small models, for a fast look")

    for spec in with_cli.values():  # service-specific options (e.g. --plot, --heatmap)
        add_arguments = getattr(load_object(spec.cli), "add_arguments", None)
        if add_arguments is not None:
            add_arguments({"train": train, "score": score, "eval": evaluate})
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``polyad`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "up":
        from polyad.commands.up import run_up

        return run_up(args)
    if args.command == "serve":
        from services.core.app import main as serve_main

        serve_main([args.service, *(["--config", args.config] if args.config else [])])
        return 0
    if args.command == "services":
        from polyad.commands.services import run_services

        return run_services(args)
    from services.core.errors import PolyadError

    spec = service_specs()[args.service]
    module = load_object(spec.cli)
    if getattr(args, "detector", "") is None:
        args.detector = spec.default_detector
    handler = {"train": module.train, "score": module.score, "eval": module.evaluate}[args.command]
    try:
        return handler(args)
    except (PolyadError, OSError) as error:
        print(f"polyad {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
