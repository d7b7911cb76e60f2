"""``polyad train|score|eval medical``."""

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

__all__ = ["add_arguments", "evaluate", "read_study", "score", "train"]

console = Console(width=140)
STUDY_SUFFIXES = (".nii", ".nii.gz", ".dcm", ".dicom", ".zip", ".png", ".jpg", ".jpeg")


def add_arguments(parsers: dict[str, argparse.ArgumentParser]) -> None:
    """Options of the medical commands."""
    for name in ("train", "score"):
        parsers[name].add_argument("--window", default="",
                                   help="medical: CT window preset (brain, subdural, liver, abdomen, soft_tissue, "
                                        "lung, bone) or CENTER,WIDTH")
    parsers["score"].add_argument("--out-dir", default=".",
                                  help="medical: folder for <study>.anomaly_map.nii.gz, overlay PNGs and DICOM-SEG")
    parsers["score"].add_argument("--overlays", type=int, default=3, help="medical: PNG overlays of the top slices")
    parsers["score"].add_argument("--dicom-seg", action="store_true",
                                  help="medical: also write a DICOM-SEG of the flagged region (DICOM input)")


def read_study(path: str | Path) -> tuple[str, bytes]:
    """(name, bytes) of one study: a file as it is, a folder of DICOM files zipped in memory (one series)."""
    source = Path(path)
    if source.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for item in sorted(p for p in source.rglob("*") if p.is_file()):
                archive.write(item, item.relative_to(source).as_posix())
        return source.name + ".zip", buffer.getvalue()
    return source.name, source.read_bytes()


def _stem(name: str) -> str:
    for suffix in sorted(STUDY_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _window(text: str):  # type: ignore[no-untyped-def]
    from polyad.medical.v1 import medical_pb2 as pb

    if not text:
        return pb.Window()
    if "," in text:
        center, width = (float(v) for v in text.split(",", 1))
        return pb.Window(center=center, width=width)
    key = text.strip().lower().replace("-", "_").replace("/", "_")
    key = {"liver_abdomen": "abdomen"}.get(key, key)
    return pb.Window(preset=pb.WindowPreset.Value(f"WINDOW_PRESET_{key.upper()}"))


def _study_paths(data: str) -> list[Path]:
    """Studies under ``--data``: a file, a folder of study files, or a folder of DICOM files (one series)."""
    root = Path(data)
    if not root.is_dir():
        return [root]
    files = sorted(p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(STUDY_SUFFIXES)
                   and not p.name.lower().endswith((".dcm", ".dicom")))
    series = [p for p in root.iterdir() if p.is_dir()]
    dicoms = [p for p in root.iterdir() if p.is_file() and p.name.lower().endswith((".dcm", ".dicom"))]
    return files + sorted(series) + ([root] if dicoms else [])


def train(args: argparse.Namespace) -> int:
    """Fit on normal studies under ``--data`` (whole studies or evenly spaced slices calibrate), or the MNI default."""
    from services.medical.codec import decode_upload
    from services.medical.defaults import train_default_model
    from services.medical.pipeline import training_stacks
    from services.medical.servicer import window_of
    from services.medical.serving import split_studies

    def load_split(overrides: dict) -> tuple:
        window = window_of(_window(args.window))
        size = int(overrides.setdefault("image_size", 160) or 160)
        offset = int(overrides.get("neighbour_offset", 1))
        per_study = [training_stacks([decode_upload(data, name)], window, offset=offset, size=size)
                     for name, data in map(read_study, _study_paths(args.data))]
        return split_studies(per_study, args.calibration_fraction)

    return train_version(args, "medical",
                         lambda store, overrides: train_default_model(store, progress=True, overrides=overrides),
                         load_split)


def _request(name: str, data: bytes, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from polyad.common.v1 import common_pb2
    from polyad.medical.v1 import medical_pb2 as pb
    from services.core.gateway_request import gateway_detect_request
    from services.core.responses import RULES_BY_NAME

    message = pb.DetectRequest(
        study=pb.Study(id=name, upload=pb.Upload(data=data, filename=name)),
        policy=common_pb2.DecisionPolicy(rule=RULES_BY_NAME[args.rule], alpha=args.alpha), window=_window(args.window),
        outputs=pb.OutputOptions(omit_anomaly_map=True, include_nifti_map=True, include_dicom_seg=args.dicom_seg,
                                 overlay_slices=args.overlays))
    return gateway_detect_request(message)


def score(args: argparse.Namespace) -> int:
    """Score each study through the gateway: print per-slice scores, write the NIfTI map and PNG overlays."""
    import grpc

    from polyad.gateway.v1 import gateway_pb2_grpc
    from polyad.medical.v1 import medical_pb2 as pb
    from services.core.codecs import to_numpy

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    with grpc.insecure_channel(args.gateway, options=[("grpc.max_receive_message_length", 256 * 1024**2),
                                                      ("grpc.max_send_message_length", 256 * 1024**2)]) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for path in args.files:
            name, data = read_study(path)
            try:
                reply = stub.Detect(_request(name, data, args), timeout=args.timeout)
            except grpc.RpcError as error:
                console.print(f"[red]{path}: {error.code().name}: {error.details()}[/]")
                return 2
            answer = pb.DetectResponse()
            reply.other.Unpack(answer)
            stem = _stem(name)
            written = []
            if answer.nifti_map:
                written.append(out / f"{stem}.anomaly_map.nii.gz")
                written[-1].write_bytes(answer.nifti_map)
            for overlay in answer.overlays:
                written.append(out / f"{stem}.slice{overlay.slice_index:04d}.png")
                written[-1].write_bytes(overlay.png)
            if answer.dicom_seg:
                written.append(out / f"{stem}.seg.dcm")
                written[-1].write_bytes(answer.dicom_seg)
            scores, scored = to_numpy(answer.slice_scores), to_numpy(answer.scored)
            p_values, flags = to_numpy(answer.slice_decisions.p_values), to_numpy(answer.slice_decisions.anomalous)
            reports.append({"file": str(path), "volume_score": answer.volume_score,
                            "volume_p_value": answer.volume_p_value, "volume_anomalous": answer.volume_anomalous,
                            "slices": [{"index": int(k), "score": float(scores[k]), "p_value": float(p_values[k]),
                                        "anomalous": bool(flags[k])} for k in np.flatnonzero(scored)],
                            "written": [str(p) for p in written]})
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
        return 0
    for report in reports:
        flagged = [s for s in report["slices"] if s["anomalous"]]
        table = Table(title=f"{report['file']}: volume score {report['volume_score']:.4f}, p = "
                            f"{report['volume_p_value']:.3g}, anomalous = {report['volume_anomalous']}; "
                            f"{len(report['slices'])} slices scored, {len(flagged)} flagged")
        for column in ("slice", "score", "p-value", "anomalous"):
            table.add_column(column, justify="right")
        for s in report["slices"]:
            table.add_row(str(s["index"]), f"{s['score']:.4f}", f"{s['p_value']:.3g}",
                          "[red]yes[/]" if s["anomalous"] else "")
        console.print(table)
        for path in report["written"]:
            console.print(f"wrote {path}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Multi-AD vs PatchCore on the built-in sets (brain needs Debian mricron-data; else CT and OCT only)."""
    from sklearn.metrics import roc_auc_score

    from services.medical.data.common import MissingDataError
    from services.medical.data.ct import ct_set
    from services.medical.data.oct import oct_set
    from services.medical.detectors.multi_ad import MedicalMultiADDetector
    from services.medical.detectors.patchcore import MedicalPatchCoreDetector

    quick = {"image_size": 128, "kd_steps": 60, "disc_steps": 40, "student_width": 16, "student_blocks": 1} \
        if args.quick else {"image_size": 160, "kd_steps": 250, "disc_steps": 150}
    loaders = {"ct": lambda: ct_set(n_train=30 if args.quick else 60),
               "oct": lambda: oct_set(n_train=30 if args.quick else 60)}
    try:
        from services.medical.data.brain import brain_set, colin27_paths

        colin27_paths()
        loaders = {"brain": lambda: brain_set(n_test=40 if args.quick else 60), **loaders}
    except MissingDataError as error:
        console.print(f"[yellow]brain set skipped: {error}[/]")
    table = Table(title="medical: image AUROC / pixel AUROC on the built-in sets" + (" (quick)" if args.quick else ""))
    for column in ("set", "method", "image AUROC", "pixel AUROC"):
        table.add_column(column, justify="right")
    for name, load in loaders.items():
        data = load()
        for method, detector in (("Multi-AD", MedicalMultiADDetector(quick)),
                                 ("PatchCore", MedicalPatchCoreDetector({"image_size": quick["image_size"]}))):
            detector.fit(data.train)
            scores, maps = detector.score_and_explain(data.test)
            pixel = roc_auc_score(data.test_masks.ravel(), maps.ravel()) if data.test_masks.any() else float("nan")
            table.add_row(name, method, f"{roc_auc_score(data.test_labels, scores):.3f}", f"{pixel:.3f}")
    console.print(table)
    return 0
