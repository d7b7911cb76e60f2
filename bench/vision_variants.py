"""Compare model-level settings of one vision detector on validation crops only (never a test row).

``bench/vision_select.py`` chooses the map post-processing from one fit; settings that change what is learned
(backbone taps, neighbourhood, training length, ...) need one fit each, which this script runs. Every variant
fits on crops of the left half of a texture's training rows and is judged on crops of the right half
(``inspection_set(validation=True)``, the built-in defect kinds drawn with the validation seed). It prints the
image AUROC, pixel AUROC and AUPRO per variant, and the image AUROC of each defect kind against the normal
crops, so a weakness can be studied on validation data and a remedy chosen there before any test run.

``--split test`` runs the same on the test rows (``inspection_set(validation=False)``, what ``bench/vision.py``
scores) and also lists the defective crops that score below the highest normal crop (kind, defect area in
pixels, how many normal crops outrank it). It is for reporting where a setting already chosen misses; nothing
may be chosen from it.

Run: ``python bench/vision_variants.py --detector patch_flow --categories grass --seeds 0
--variant default '{}' --variant taps012 '{"layers": [0, 1, 2]}' [--save part.json | --load part*.json]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table


def missed_defects(scores: np.ndarray, labels: np.ndarray, masks: np.ndarray, kinds: np.ndarray) -> list[dict]:
    """Defective crops scored below the highest normal crop, lowest first.

    scores, labels, kinds: (N,); masks: (N, H, W) bool. Each entry: kind, defect area (pixels) and the number of
    normal crops that outrank it.
    """
    normal_scores = scores[labels == 0]
    missed = [i for i in np.flatnonzero(labels == 1) if scores[i] < normal_scores.max()]
    return [{"kind": str(kinds[i]), "area_px": int(masks[i].sum()),
             "normals_above": int((normal_scores > scores[i]).sum())}
            for i in sorted(missed, key=lambda i: scores[i])]


def variant_row(detector_name: str, overrides: dict, category: str, seed: int, n_train: int,
                n_test: int, validation: bool = True) -> dict:
    """Fit one variant on a texture's validation (or test) split; overall and per-defect-kind metrics."""
    from services.core import registry
    from services.vision import metrics
    from services.vision.data import inspection_set
    from services.vision.experiments import evaluate_detector

    dataset = inspection_set(category, n_train=n_train, n_test=n_test, seed=seed, validation=validation)
    detector = registry.detector_class("vision", detector_name)({"seed": seed, **overrides})
    row = evaluate_detector(detector, dataset)
    kinds = np.asarray(dataset.test_defects)
    normal = kinds == "good"
    by_kind = {}
    for kind in sorted(set(kinds) - {"good"}):
        keep = normal | (kinds == kind)
        by_kind[kind] = metrics.image_auroc(dataset.test_labels[keep], row["scores"][keep])
    missed = missed_defects(np.asarray(row["scores"]), dataset.test_labels, dataset.test_masks, kinds)
    return {"category": category, "seed": seed, "fit_s": row["fit_s"], "by_kind": by_kind, "missed": missed,
            **{k: float(row[k]) for k in ("image_auroc", "pixel_auroc", "aupro")}}


def report(runs: dict[str, list[dict]], split: str = "validation") -> None:
    """Mean ± sd over seeds per variant and texture, and per defect kind; on the test split, the misses."""
    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"

    keys = ("image_auroc", "pixel_auroc", "aupro")
    rows = [[name, str(len(fits)), *(cell([f[k] for f in fits]) for k in keys)] for name, fits in runs.items()]
    title = "validation crops (training rows, right half)" if split == "validation" else "test crops (test rows)"
    print_table(title, ["variant / texture", "fits", *keys], rows)
    kinds = sorted({kind for fits in runs.values() for f in fits for kind in f["by_kind"]})
    rows = [[name, *(cell([f["by_kind"][kind] for f in fits if kind in f["by_kind"]]) for kind in kinds)]
            for name, fits in runs.items()]
    print_table("image AUROC per defect kind (each kind against the normal crops)", ["variant / texture", *kinds], rows)
    if split == "test":
        rows = [[name, str(f["seed"]), ", ".join(f"{m['kind']} {m['area_px']} px ({m['normals_above']} above)"
                                                 for m in f.get("missed", [])) or "-"]
                for name, fits in runs.items() for f in fits]
        print_table("defective crops below the highest normal crop (kind, area, normal crops above it)",
                    ["variant / texture", "seed", "missed"], rows)


def main() -> None:
    from services.vision.data import CATEGORIES

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detector", default="patch_flow")
    parser.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "JSON"),
                        help="a named set of config overrides (repeatable); default: the detector's defaults")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=80)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--split", choices=("validation", "test"), default="validation",
                        help="test: report where a chosen setting misses on the test rows (choose nothing from it)")
    parser.add_argument("--save", help="write every fit to this JSON file (to split a long run)")
    parser.add_argument("--load", nargs="+", help="merge saved runs and print the tables (no training)")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {}
    if args.load:
        seen = set()
        for path in args.load:
            for fit in json.loads(Path(path).read_text()):
                if (key := (fit["variant"], fit["category"], fit["seed"])) not in seen:  # files may overlap
                    seen.add(key)
                    runs.setdefault(f"{fit['variant']} / {fit['category']}", []).append(fit)
        report(runs, args.split)
        return
    torch.set_num_threads(args.threads)
    saved: list[dict] = []
    for (name, overrides), seed, category in itertools.product(args.variant or [("default", "{}")], args.seeds,
                                                               args.categories):
        started = time.perf_counter()
        fit = variant_row(args.detector, json.loads(overrides), category, seed, args.train, args.test,
                          validation=args.split == "validation")
        fit.update(variant=name, detector=args.detector, overrides=json.loads(overrides))
        runs.setdefault(f"{name} / {category}", []).append(fit)
        print(f"  {args.detector} {name} seed {seed} {category}: image AUROC {fit['image_auroc']:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        if args.save:  # after every fit, so a long run cut short keeps what it finished
            saved.append(fit)
            Path(args.save).write_text(json.dumps(saved))
    report(runs, args.split)


if __name__ == "__main__":
    main()
