"""Vision on an evaluation no detector was tuned to, with ablations and the false-positive check at alpha.

Sources: real photographs of the scikit-image wheel the project uses nowhere else (``ihc``, ``moon``,
``hubble``); defects from ``services.vision.holdout_defects`` (written apart from the built-in set's defects
and from the train-time synthesis). Per source and seed, each detector (default configuration; ablations
change one switch) is fitted on 48 normal crops of the top half, calibrated on 48 normal crops of the
bottom-left quarter and scores 60 crops of the bottom-right quarter (half defective). Prints mean ± sd over
seeds of image AUROC, pixel AUROC and AUPRO per source, image AUROC per defect kind (and the small-defect
row: dots and 1-px lines a few pixels wide at 256x256), and the false-positive rate at alpha = 0.1 of the
normal test crops against the calibration crops (conformal p-values; exchangeable by construction).

Run: ``python bench/vision_holdout.py [--quick] [--sources ihc moon] [--seeds 0 1 2] [--ablations] [--size 256]``;
long runs can be split: ``--save part.json`` per run, then ``--load part*.json`` prints the merged tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table

ALPHA = 0.1
ABLATIONS: dict[str, tuple[str, dict]] = {
    "multi_ad -SE": ("multi_ad", {"se_blocks": False}),
    "multi_ad -disc": ("multi_ad", {"discriminator": False}),
    "patch_flow -adapter": ("patch_flow", {"adapter": False}),
    "patch_flow -neighbours": ("patch_flow", {"neighbourhood": 1}),
}


def run_one(source: str, seed: int, label: str, detector: str, config: dict, sizes: dict) -> dict:
    """Fit, calibrate and score one detector on one source and seed; a JSON-ready row.

    ``sizes``: ``n_train``, ``n_calibration``, ``n_test`` crops and the model resolution ``size``.
    """
    from services.core import registry
    from services.core.calibration import ConformalCalibrator
    from services.vision import metrics
    from services.vision.experiments import evaluate_detector, score_dataset
    from services.vision.holdout import holdout_set
    from services.vision.holdout_defects import HOLDOUT_KINDS, SMALL_KINDS

    data = holdout_set(source, seed=seed, **sizes)
    model = registry.detector_class("vision", detector)({**config, "seed": seed, "image_size": sizes["size"]})
    row = evaluate_detector(model, data)
    scores = row.pop("scores")
    row.pop("maps")
    kinds = np.asarray(data.test_defects)
    normal = kinds == "good"

    def kind_auroc(selected: np.ndarray) -> float | None:
        keep = normal | selected
        return metrics.image_auroc(data.test_labels[keep], scores[keep]) if selected.any() else None

    row["kinds"] = {k: kind_auroc(kinds == k) for k in HOLDOUT_KINDS}
    row["small"] = kind_auroc(np.isin(kinds, SMALL_KINDS))
    calibration = score_dataset(model, data.calibration_images)[0]
    p_values = ConformalCalibrator().fit(calibration).p_values(scores[normal])
    row["fpr"] = float((p_values <= ALPHA).mean())
    return {"source": source, "seed": seed, "label": label, **sizes, **row}


def _fmt(values: list[float | None]) -> str:
    kept = [v for v in values if v is not None]
    if not kept:
        return "—"
    return f"{np.mean(kept):.3f} ± {np.std(kept, ddof=1):.3f}" if len(kept) > 1 else f"{kept[0]:.3f} (1 seed)"


def print_tables(rows: list[dict]) -> None:
    """The holdout tables (mean ± sd over seeds) from run rows."""
    from services.vision.holdout_defects import HOLDOUT_KINDS

    labels = list(dict.fromkeys(r["label"] for r in rows))
    sources = list(dict.fromkeys(r["source"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    table = []
    for source in [*sources, "mean"]:
        for label in labels:
            sel = [r for r in rows if r["label"] == label and source in (r["source"], "mean")]
            if not sel:
                continue
            if source == "mean":  # mean over sources per seed, then mean ± sd over seeds
                sel = [{k: np.mean([r[k] for r in sel if r["seed"] == s]) for k in
                        ("image_auroc", "pixel_auroc", "aupro", "fit_s", "fpr")} for s in seeds
                       if any(r["seed"] == s for r in sel)]
            table.append([source, label, *(_fmt([r[k] for r in sel]) for k in ("image_auroc", "pixel_auroc", "aupro")),
                          f"{np.mean([r['fit_s'] for r in sel]):.0f}", _fmt([r["fpr"] for r in sel])])
    first = rows[0]
    print_table(f"Holdout photographs, unseen defect suite (seeds {seeds}; mean ± sd over seeds; "
                f"{first['n_train']} train, {first['n_calibration']} calibration, {first['n_test']} test crops, "
                f"{first['size']}x{first['size']})",
                ["source", "detector", "image AUROC", "pixel AUROC", "AUPRO", "fit s", f"FPR@{ALPHA}"], table)
    kinds = [*HOLDOUT_KINDS, "small"]
    by_kind = []
    for label in labels:
        sel = [r for r in rows if r["label"] == label]
        per_seed = {k: [np.mean([v for r in sel if r["seed"] == s and (v := (r["small"] if k == "small" else
                                                                        r["kinds"][k])) is not None] or [np.nan])
                        for s in seeds] for k in kinds}
        by_kind.append([label, *(_fmt([v for v in per_seed[k] if not np.isnan(v)]) for k in kinds)])
    print_table("Image AUROC per defect kind (normal test crops vs that kind; mean over sources, ± sd over seeds; "
                "small = small_blot + thin_line)", ["detector", *kinds], by_kind)


def main() -> None:
    from services.vision.experiments import QUICK_CONFIGS, TRAINED_DETECTORS
    from services.vision.holdout import HOLDOUT_SOURCES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=list(HOLDOUT_SOURCES), choices=HOLDOUT_SOURCES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--detectors", nargs="+", default=list(TRAINED_DETECTORS))
    parser.add_argument("--ablations", action="store_true", help="also run the ablation variants (of --detectors)")
    parser.add_argument("--only-ablations", action="store_true", help="run the ablation variants only")
    parser.add_argument("--quick", action="store_true", help="shorter training (QUICK_CONFIGS): a fast look")
    parser.add_argument("--size", type=int, default=256, help="model resolution (crops are 128 px of the photo)")
    parser.add_argument("--train", type=int, default=48)
    parser.add_argument("--calibration", type=int, default=48)
    parser.add_argument("--test", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 on a machine shared by other jobs)")
    parser.add_argument("--save", help="write the run rows to this JSON file")
    parser.add_argument("--load", nargs="+", help="print the tables of saved runs (no training)")
    args = parser.parse_args()
    if args.load:
        print_tables([r for path in args.load for r in json.loads(Path(path).read_text())])
        return
    torch.set_num_threads(args.threads)
    variants = {} if args.only_ablations else {n: (n, {}) for n in args.detectors}
    if args.ablations or args.only_ablations:
        variants.update({label: v for label, v in ABLATIONS.items() if v[0] in args.detectors})
    rows = []
    sizes = {"n_train": args.train, "n_calibration": args.calibration, "n_test": args.test, "size": args.size}
    for source in args.sources:
        for seed in args.seeds:
            for label, (detector, config) in variants.items():
                started = time.perf_counter()
                quick = QUICK_CONFIGS.get(detector, {}) if args.quick else {}
                config = {**quick, **config}
                rows.append(run_one(source, seed, label + (" (quick)" if quick else ""), detector, config, sizes))
                print(f"  {source}/seed {seed}/{label}: {time.perf_counter() - started:.0f} s", flush=True)
                if args.save:
                    Path(args.save).write_text(json.dumps(rows))
    print_tables(rows)


if __name__ == "__main__":
    main()
