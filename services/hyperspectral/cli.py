"""``polyad train|score|eval hyperspectral``."""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from services.core.cli_training import train_version

__all__ = ["add_arguments", "evaluate", "file_upload", "score", "train"]

console = Console(width=140)
_ENVI_DATA = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".IMG", ".DAT", ".RAW")


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the hyperspectral commands."""
    for name in ("train", "score"):
        parsers[name].add_argument("--cube-variable", default="",
                                   help="hyperspectral: the cube variable of .mat files (default: data, hsi, ...)")
    parsers["score"].add_argument("--overlay", default="",
                                  help="hyperspectral: write <cube>.overlay.png (map over a false-colour composite) "
                                       "into this folder")


def train(args: argparse.Namespace) -> int:
    """Fit on one cube (the bottom ``--calibration-fraction`` of its rows calibrates), or the default scenes."""
    from services.hyperspectral.defaults import train_default_model
    from services.hyperspectral.loaders import load_cube
    from services.hyperspectral.serving import split_rows

    def load_split(overrides: dict) -> tuple:
        cube = load_cube(args.data, args.cube_variable or None).data
        return split_rows(cube, args.calibration_fraction, 2, 256)

    return train_version(
        args, "hyperspectral",
        lambda store, overrides: train_default_model(store, progress=True, overrides=overrides),
        load_split,
    )


def file_upload(path: str) -> tuple[str, bytes]:
    """(upload filename, bytes): ``.mat`` / ``.npy`` / ``.zip`` as they are; an ENVI ``.hdr`` zipped with its data."""
    source = Path(path)
    if source.suffix.lower() != ".hdr":
        return source.name, source.read_bytes()
    data = next((source.with_suffix(ext) for ext in _ENVI_DATA
                 if source.with_suffix(ext).is_file() and source.with_suffix(ext) != source), None)
    if data is None:
        raise FileNotFoundError(f"{source}: no ENVI data file beside the header (tried {', '.join(_ENVI_DATA[1:7])})")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.write(source, source.name)
        archive.write(data, data.name)
    return source.stem + ".zip", buffer.getvalue()


def _request(path: str, variable: str, rule: str, alpha: float, overlay: bool):  # type: ignore[no-untyped-def]
    from polyad.common.v1 import common_pb2
    from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
    from services.core.gateway_request import gateway_detect_request
    from services.core.responses import RULES_BY_NAME

    name, content = file_upload(path)
    message = pb.DetectRequest(cube=pb.Cube(id=path, file=pb.CubeFile(filename=name, content=content,
                                                                      variable=variable)),
                               policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[rule], alpha=alpha),
                               omit_map=True, include_overlay_png=overlay)
    return gateway_detect_request(message)


def score(args: argparse.Namespace) -> int:
    """Score each cube through the gateway; print the scene summary and the most anomalous pixels."""
    import grpc

    from polyad.gateway.v1 import gateway_pb2_grpc
    from polyad.hyperspectral.v1 import hyperspectral_pb2 as pb
    from services.core.codecs import to_numpy

    reports = []
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            try:
                request = _request(path, args.cube_variable, args.rule, args.alpha, bool(args.overlay))
                reply = stub.Detect(request, timeout=args.timeout)
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            except OSError as error:
                console.print(f"[red]{path}: {error}[/]")
                return 2
            answer = pb.DetectResponse()
            reply.other.Unpack(answer)
            scores, p_values = to_numpy(answer.scores), to_numpy(answer.decisions.p_values)
            flags = to_numpy(answer.decisions.anomalous)
            top = np.argsort(-scores, kind="stable")[:10]
            s = answer.summary
            report = {"file": path, "pixels": int(scores.size), "bands_used": answer.bands_used,
                      "flagged_pixels": s.flagged_pixels, "flagged_fraction": s.flagged_fraction,
                      "scene_p_value": s.scene_p_value, "anomalous": s.anomalous,
                      "top_pixels": [{"index": int(i), "score": float(scores[i]), "p_value": float(p_values[i]),
                                      "anomalous": bool(flags[i])} for i in top]}
            if args.overlay and answer.overlay_png:
                out = Path(args.overlay) / f"{Path(path).stem}.overlay.png"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(answer.overlay_png)
                report["overlay"] = str(out)
            reports.append(report)
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        table = Table(title=f"{report['file']}: {report['pixels']} pixels, {report['bands_used']} bands used, "
                            f"{report['flagged_pixels']} flagged, scene p = {report['scene_p_value']:.3g}; top pixels")
        for column in ("pixel (row-major)", "score", "p-value", "anomalous"):
            table.add_column(column, justify="right")
        for p in report["top_pixels"]:
            table.add_row(str(p["index"]), f"{p['score']:.3f}", f"{p['p_value']:.3g}", str(p["anomalous"]))
        console.print(table)
        if "overlay" in report:
            console.print(f"overlay written to {report['overlay']}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """The field's protocol on generated scenes (fit on each unlabelled scene, score it): DMS2F-HAD vs global RX."""
    from services.hyperspectral.baselines import global_rx
    from services.hyperspectral.detectors.dms2f_had import DMS2FHADDetector
    from services.hyperspectral.metrics import roc_summary
    from services.hyperspectral.scenes import SCENE_KINDS, make_scene

    size, seeds = ((32, 32), [1]) if args.quick else ((64, 64), [1, 2, 3])
    config = {"epochs": 4, "train_pixels": 512, "threads": 1} if args.quick else {"epochs": 12, "train_pixels": 1024}
    table = Table(title=f"DMS2F-HAD vs global RX on generated {size[0]}×{size[1]} scenes, seeds {seeds} "
                        "(fit on each unlabelled scene)")
    for column in ("scene", "method", "AUC(Pd,Pf) ↑", "AUC(τ,Pd) ↑", "AUC(τ,Pf) ↓"):
        table.add_column(column, justify="right")
    for kind in SCENE_KINDS:
        rows: dict[str, list] = {"DMS2F-HAD": [], "global RX": []}
        for seed in seeds:
            scene = make_scene(kind, seed=seed, size=size)
            labels = scene.gt.reshape(-1)
            rows["DMS2F-HAD"].append(roc_summary(labels, DMS2FHADDetector(config).fit(scene.cube).score(scene.cube)))
            rows["global RX"].append(roc_summary(labels, global_rx(scene.cube).reshape(-1)))
        for method, results in rows.items():
            table.add_row(kind, method, *(f"{np.mean([getattr(r, k) for r in results]):.4f}"
                                          for k in ("auc_pd_pf", "auc_tau_pd", "auc_tau_pf")))
    console.print(table)
    return 0
