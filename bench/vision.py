"""Vision detectors on the built-in inspection set: accuracy beside a PatchCore baseline, latency, memory.

For each texture category every registered vision detector (Multi-AD, patch-flow, and the
PatchCore-style baseline on the same backbone) is fitted on normal crops and scores held-out crops,
half of which carry defects of kinds no detector saw in training. Prints one table with image
AUROC, pixel AUROC and AUPRO per category and on average, fit time per category, then latency per
256×256 image (inline, batch 1 and 8) and peak RSS of a process that loads and serves each model.
Targets: ≥ 0.99 image AUROC, ≥ 0.97 pixel AUROC, ≤ 80 ms/image at batch 8, ≤ 1.5 GiB, ≤ 10 min fit.

Run: ``python bench/vision.py [--quick] [--categories brick grass] [--train 64] [--test 40]``
"""

from __future__ import annotations

import argparse
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
    from services.vision.experiments import evaluate_detector

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="one category, 24 train / 16 test crops")
    parser.add_argument("--serving-only", action="store_true",
                        help="latency and memory only (models fitted on 16 brick crops; no accuracy table)")
    args = parser.parse_args()
    if args.quick:
        args.categories, args.train, args.test = args.categories[:1], 24, 16
    if args.serving_only:
        args.categories, args.train, args.test = args.categories[:1], 16, 8
    torch.set_num_threads(2)
    names = registry.service_detectors("vision")
    rows, results, fitted = [], {n: [] for n in names}, {}
    for category in args.categories:
        dataset = inspection_set(category, n_train=args.train, n_test=args.test, size=256, seed=1)
        for name in names:
            detector = registry.detector_class("vision", name)()
            row = evaluate_detector(detector, dataset)
            results[name].append(row)
            fitted[name] = (detector, dataset.test_images)
            rows.append([category, name, *(f"{row[k]:.3f}" for k in ("image_auroc", "pixel_auroc", "aupro")),
                         f"{row['fit_s']:.0f}"])
            print(f"  {category}/{name}: done in {row['fit_s']:.0f} s", flush=True)
    for name in names:
        mean = {k: np.mean([r[k] for r in results[name]]) for k in ("image_auroc", "pixel_auroc", "aupro", "fit_s")}
        rows.append(["average", name, *(f"{mean[k]:.3f}" for k in ("image_auroc", "pixel_auroc", "aupro")),
                     f"{mean['fit_s']:.0f}"])
    if not args.serving_only:
        print_table(
            f"Held-out inspection crops ({args.train} normal train, {args.test} test of which half defective; "
            "256×256)",
            ["category", "detector", "image AUROC", "pixel AUROC", "AUPRO", "fit s"],
            rows,
        )
    serving = []
    for name, (detector, images) in fitted.items():
        serving.append([name, f"{latency_ms(detector, images, 1):.0f}", f"{latency_ms(detector, images, 8):.0f}",
                        f"{peak_rss_gib(detector, name):.2f}"])
    print_table("Serving on 2 CPU cores (inline)", ["detector", "ms/image batch 1", "ms/image batch 8",
                                                   "peak RSS GiB"], serving)


if __name__ == "__main__":
    main()
