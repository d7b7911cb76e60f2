"""``polyad train|score|eval vision``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "load_training_images", "score", "train"]


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the vision commands."""
    parsers["score"].add_argument("--heatmap", help="vision: write <image>.heatmap.png overlays into this folder")
    evaluate = parsers["eval"]
    options = (
        ("--data", {"help": "vision: an MVTec AD root (<category>/train/good, test/, ground_truth/): run the "
                            "standard protocol and print anomalib-style tables (default: the built-in set)"}),
        ("--categories", {"nargs": "+", "help": "vision: MVTec AD categories to run (default: every one found)"}),
        (("--detectors", "--detector"), {"nargs": "+", "help": "vision: detectors to evaluate (default: every "
                                                               "trained one)"}),
    )
    for flags, kwargs in options:
        with contextlib.suppress(argparse.ArgumentError):  # another service declared it for `eval`: share it
            evaluate.add_argument(*([flags] if isinstance(flags, str) else flags), **kwargs)

console = Console(width=120)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def load_training_images(folder: str, size: int) -> np.ndarray:
    """Normal images ``(N, size, size, 3)`` uint8 from a folder, or from ``<folder>/train/good`` (MVTec layout)."""
    from services.core.errors import InvalidInputError
    from services.vision.codec import resize_image

    root = Path(folder)
    if (root / "train" / "good").is_dir():
        root = root / "train" / "good"
    paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if root.is_dir() else []
    if not paths:
        raise InvalidInputError(f"no PNG/JPEG images in {root}; expected a folder of normal images")
    return np.stack([resize_image(_read(p), size) for p in paths])


def _read(path: Path) -> np.ndarray:
    from polyad.vision.v1 import vision_pb2
    from services.vision.codec import decode_image

    return decode_image(vision_pb2.Image(encoded=path.read_bytes()), str(path), max_pixels=8192 * 8192)


def train(args: argparse.Namespace) -> int:
    """Fit a detector locally on normal images and store a new version."""
    from services.core.training import chronological_split
    from services.vision.defaults import train_default_model

    def load_split(overrides: dict) -> tuple[np.ndarray, np.ndarray]:
        images = load_training_images(args.data, int(overrides.get("image_size", 256)))
        return chronological_split(images, args.calibration_fraction)

    return train_version(
        args, "vision",
        lambda store, overrides: train_default_model(store, progress=True, overrides=overrides,
                                                     detector=args.detector),
        load_split,
    )


def score(args: argparse.Namespace) -> int:
    """Score image files through the gateway; print a table (or JSON) and write heat maps."""
    import grpc

    from polyad.common.v1 import common_pb2
    from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from polyad.vision.v1 import vision_pb2
    from services.core.responses import RULES_BY_NAME

    images = [vision_pb2.Image(id=Path(p).name, encoded=Path(p).read_bytes()) for p in args.files]
    request = gateway_pb2.DetectRequest(vision=vision_pb2.DetectRequest(
        images=images, include_heatmap_png=bool(args.heatmap), omit_anomaly_map=True,
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[args.rule], alpha=args.alpha),
    ))
    with grpc.insecure_channel(args.gateway) as channel:
        try:
            reply = gateway_pb2_grpc.GatewayServiceStub(channel).Detect(request, timeout=args.timeout)
        except grpc.RpcError as error:
            console.print(f"[red]{error.code().name}: {error.details()}[/]")
            return 2
    rows = []
    for result in reply.vision.results:
        row = {"file": result.id, "score": round(result.score, 5), "p_value": result.p_value,
               "anomalous": result.anomalous}
        if args.heatmap:
            out = Path(args.heatmap) / f"{Path(result.id).stem}.heatmap.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(result.heatmap_png)
            row["heatmap"] = str(out)
        rows.append(row)
    if args.json:
        json.dump({"model": reply.vision.model.version, "results": rows}, sys.stdout, indent=2)
        print()
        return 0
    table = Table(title=f"vision/{reply.vision.model.detector} {reply.vision.model.version}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    return 0


def _detector_factories(args: argparse.Namespace) -> dict:
    """``{name: () -> fresh detector}`` for ``--detectors`` (``--quick``: shorter training)."""
    from services.core import registry
    from services.core.errors import InvalidInputError
    from services.vision.experiments import QUICK_CONFIGS, TRAINED_DETECTORS

    names = getattr(args, "detectors", None) or list(TRAINED_DETECTORS)
    known = registry.service_detectors("vision")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInputError(f"unknown vision detector(s) {unknown}; expected some of {known}")
    return {n: (lambda n=n: registry.detector_class("vision", n)(QUICK_CONFIGS.get(n, {}) if args.quick else {}))
            for n in names}


def evaluate_mvtec_folder(args: argparse.Namespace) -> int:
    """The MVTec AD protocol on ``--data``: anomalib-format tables of image AUROC, pixel AUROC, AUPRO."""
    from services.vision.experiments import anomalib_tables, evaluate_mvtec

    results = evaluate_mvtec(args.data, _detector_factories(args), getattr(args, "categories", None))
    print(f"MVTec AD protocol on {args.data}: fit on train/good, score test/*, 256x256, AUPRO at FPR <= 0.3")
    print()
    print(anomalib_tables(results))
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Held-out image AUROC, pixel AUROC and AUPRO: on ``--data`` (MVTec AD layout) or the built-in set."""
    from services.vision.data import CATEGORIES, inspection_set
    from services.vision.experiments import evaluate_detector

    if getattr(args, "data", None):
        return evaluate_mvtec_folder(args)
    n_train, n_test = (24, 16) if args.quick else (64, 40)
    table = Table(title="Vision detectors on held-out inspection crops (defect kinds unseen in training)")
    for column in ("category", "detector", "image AUROC", "pixel AUROC", "AUPRO", "fit s", "ms/image"):
        table.add_column(column, justify="right")
    for category in CATEGORIES:
        dataset = inspection_set(category, n_train=n_train, n_test=n_test, seed=1)
        for name, make in _detector_factories(args).items():
            row = evaluate_detector(make(), dataset)
            table.add_row(category, name, *(f"{row[k]:.3f}" for k in ("image_auroc", "pixel_auroc", "aupro")),
                          f"{row['fit_s']:.0f}", f"{row['ms_per_image']:.0f}")
    console.print(table)
    return 0
