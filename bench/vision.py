"""Vision detectors on the built-in inspection set: accuracy beside a PatchCore baseline, latency, memory.

For each texture category every registered vision detector (Multi-AD, patch-flow, and the
PatchCore-style baseline on the same backbone) is fitted on normal crops and scores held-out crops,
half of which carry defects of kinds no detector saw in training. Prints one table with image
AUROC, pixel AUROC and AUPRO per category and on average, fit time per category, then latency per
256×256 image (inline, batch 1 and 8) and peak RSS of a process that loads and serves each model.
Targets: ≥ 0.99 image AUROC, ≥ 0.97 pixel AUROC, ≤ 80 ms/image at batch 8, ≤ 1.5 GiB, ≤ 10 min fit.

Accuracy is mean ± sd over ``--seeds`` (data crops and detector initialisation both follow the seed).
The second evaluation (other photographs, an independent defect suite, ablations, false-positive rate at
alpha) is ``bench/vision_holdout.py``; ``--holdout`` here runs it after this one with its defaults.

Run: ``python bench/vision.py [--quick] [--categories brick grass] [--detectors multi_ad patchcore] [--train 64]
[--test 40] [--seeds 1 2 3] [--no-serving]``; long runs can be split: ``--save part.json`` per run, then
``--load part*.json`` prints the merged table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table

MEMORY_PROBE = """
import sys, numpy as np, torch
from services.core import registry
torch.set_num_threads(2)
detector = registry.detector_class("vision", sys.argv[2]).load(sys.argv[1])
detector.score_and_explain(np.zeros((8, 256, 256, 3), np.uint8))
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a big process would report the parent's.
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak_kib / 1024 / 1024)
"""


def latency_ms(detector, images: np.ndarray, batch: int, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds per image for ``batch``-sized calls."""
    chunk = images[:batch]
    detector.score_and_explain(chunk)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        detector.score_and_explain(chunk)
        times.append((time.perf_counter() - started) * 1000 / batch)
    return float(np.median(times))


def peak_rss_gib(detector, name: str) -> float:  # type: ignore[no-untyped-def]
    """Peak RSS (GiB) of a fresh process that loads the saved model and scores a batch of 8."""
    with tempfile.TemporaryDirectory() as folder:
        detector.save(folder)
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, folder, name], cwd=root, check=True,
                             capture_output=True, text=True)
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from services.core import registry
    from services.vision.data import CATEGORIES, inspection_set
    from services.vision.experiments import TRAINED_DETECTORS, evaluate_detector

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 on a machine shared by other jobs)")
    parser.add_argument("--detectors", nargs="+", default=list(TRAINED_DETECTORS))
    parser.add_argument("--no-serving", action="store_true", help="accuracy only (no latency and memory table)")
    parser.add_argument("--save", help="write the accuracy rows to this JSON file (to split a long run)")
    parser.add_argument("--load", nargs="+", help="print the accuracy table of saved runs (no training)")
    parser.add_argument("--overrides", default="{}",
                        help='JSON config overrides for every detector run, e.g. \'{"layers": [0]}\' (a variant; '
                             "its rows are labelled with them)")
    parser.add_argument("--holdout", action="store_true", help="then run bench/vision_holdout.py (its defaults)")
    parser.add_argument("--quick", action="store_true", help="one category and seed, 24 train / 16 test crops")
    parser.add_argument("--serving-only", action="store_true",
                        help="latency and memory only (models fitted on 16 brick crops; no accuracy table)")
    args = parser.parse_args()
    if args.quick:
        args.categories, args.train, args.test, args.seeds = args.categories[:1], 24, 16, args.seeds[:1]
    if args.serving_only:
        args.categories, args.train, args.test, args.seeds = args.categories[:1], 16, 8, args.seeds[:1]
    torch.set_num_threads(args.threads)
    overrides = json.loads(args.overrides)
    suffix = f" {json.dumps(overrides)}" if overrides else ""
    names = [f"{name}{suffix}" for name in args.detectors]
    keys = ("image_auroc", "pixel_auroc", "aupro")
    results: dict[tuple[str, str], list[dict]] = {}
    fitted = {}
    for path in args.load or []:
        for saved in json.loads(Path(path).read_text()):
            results.setdefault((saved["category"], saved["detector"]), []).append(saved)
    if args.load:
        args.seeds = sorted({r["seed"] for runs in results.values() for r in runs})
        args.categories = list(dict.fromkeys(c for c, _ in results))
        names = list(dict.fromkeys(n for _, n in results))
    for seed in [] if args.load else args.seeds:
        for category in args.categories:
            dataset = inspection_set(category, n_train=args.train, n_test=args.test, size=256, seed=seed)
            for name in names:
                detector = registry.detector_class("vision", name.split()[0])({"seed": seed, **overrides})
                row = {**evaluate_detector(detector, dataset), "seed": seed}
                results.setdefault((category, name), []).append(row)
                if args.save:  # after every row, so a long run cut short keeps what it finished
                    saved = [{"category": c, "detector": n, "seed": r["seed"], **{k: float(r[k]) for k in
                              (*keys, "fit_s")}} for (c, n), runs in results.items() for r in runs]
                    Path(args.save).write_text(json.dumps(saved))
                fitted[name] = (detector, dataset.test_images)
                print(f"  seed {seed} {category}/{name}: done in {row['fit_s']:.0f} s", flush=True)

    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"

    rows = [[category, name, *(cell([r[k] for r in runs]) for k in keys), f"{np.mean([r['fit_s'] for r in runs]):.0f}"]
            for (category, name), runs in results.items()]
    for name in names:  # average over categories per seed, then mean ± sd over seeds
        per_seed = [[np.mean([results[(c, name)][i][k] for c in args.categories]) for i in range(len(args.seeds))]
                    for k in keys]
        rows.append(["average", name, *(cell(v) for v in per_seed), ""])
    if not args.serving_only:
        print_table(
            f"Held-out inspection crops ({args.train} normal train, {args.test} test of which half defective; "
            f"256×256; mean ± sd over seeds {args.seeds})",
            ["category", "detector", "image AUROC", "pixel AUROC", "AUPRO", "fit s"],
            rows,
        )
    serving = []
    for name, (detector, images) in ({} if args.no_serving else fitted).items():
        serving.append([name, f"{latency_ms(detector, images, 1):.0f}", f"{latency_ms(detector, images, 8):.0f}",
                        f"{peak_rss_gib(detector, name.split()[0]):.2f}"])
    if serving:
        print_table("Serving on 2 CPU cores (inline)", ["detector", "ms/image batch 1", "ms/image batch 8",
                                                       "peak RSS GiB"], serving)
    if args.holdout:
        subprocess.run([sys.executable, str(Path(__file__).with_name("vision_holdout.py"))], check=True)


if __name__ == "__main__":
    main()
