"""Choose the vision map post-processing (smoothing sigma, image-score top fraction) on validation crops only.

The image score of every trained vision detector is the mean of the top ``topk_ratio`` of its map after a
Gaussian smoothing of ``smoothing_sigma`` model pixels; Multi-AD also weighs its discriminator against its
discrepancy maps (``fusion_weight``, ``EXTRA_GRID``). No such setting changes what is learned, so each
detector is fitted once per texture and validation seed and every pair of the grid is scored from the same
fit. Validation never touches a test row of the built-in set: the detector fits on crops of the left half
of the training rows and is judged on crops of the right half (``inspection_set(validation=True)``), half of
them carrying the built-in defect kinds drawn with the validation seed. The pick maximises the mean image
AUROC over textures and seeds (the target metric), ties (within 0.002) broken by AUPRO, then by nearness to
the current default. The printed choice is what ``VisionConfig`` / each detector's config then uses;
``bench/vision.py`` reports the test figures.

Run: ``python bench/vision_select.py [--seeds 0 1 2] [--detectors multi_ad patch_flow patchcore] [--quick]``; a
long run can be split: ``--save part.json`` per run (written after every fit), then ``--load part*.json`` merges
the runs and prints the table and the choice (no training).
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

SIGMAS = (2.0, 4.0, 8.0)
TOPK_RATIOS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0)
# inference-only settings of one detector, tried beside the two above (each costs one more forward pass)
EXTRA_GRID: dict[str, dict[str, tuple[float, ...]]] = {"multi_ad": {"fusion_weight": (0.25, 0.5, 0.75)}}
TIE = 0.002
Setting = tuple[tuple[str, float], ...]  # sorted (config field, value) pairs


def grid_rows(detector, dataset) -> dict[Setting, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Validation metrics of a fitted ``detector`` for every setting of the grid.

    Per extra setting (``EXTRA_GRID``), one forward pass with smoothing off gives the raw maps ``(N, S, S)``;
    each sigma smooths them with the detectors' own ``gaussian_blur`` and each top fraction takes the detector's
    own image score of those maps, so sigma and top fraction cost no further forward pass. Pixel metrics depend
    on the map only and are computed once per map.
    """
    from services.vision import metrics
    from services.vision.detectors.base import gaussian_blur
    from services.vision.experiments import score_dataset

    fitted = detector.config
    size = dataset.test_images.shape[1:3]
    if fitted.image_size is not None and size != (fitted.image_size, fitted.image_size):
        raise ValueError(f"validation crops {size} must be at the model resolution {fitted.image_size}")
    extra = EXTRA_GRID.get(detector.name, {})
    rows = {}
    for values in itertools.product(*extra.values()):
        setting = dict(zip(extra, values, strict=True))
        detector.config = fitted.model_copy(update={**setting, "smoothing_sigma": 0.0})
        _, raw = score_dataset(detector, dataset.test_images)
        for sigma in SIGMAS:
            maps = gaussian_blur(torch.from_numpy(raw), sigma)
            pixel = {"pixel_auroc": metrics.pixel_auroc(dataset.test_masks, maps.numpy()),
                     "aupro": metrics.aupro(dataset.test_masks, maps.numpy())}
            for topk in TOPK_RATIOS:
                detector.config = fitted.model_copy(update={"smoothing_sigma": sigma, "topk_ratio": topk})
                scores = detector._image_scores(maps).numpy()
                key = tuple(sorted({**setting, "smoothing_sigma": sigma, "topk_ratio": topk}.items()))
                rows[key] = {"image_auroc": metrics.image_auroc(dataset.test_labels, scores), **pixel}
    detector.config = fitted
    return rows


def pick(means: dict[Setting, dict[str, float]], default: Setting) -> Setting:
    """The setting with the best image AUROC; within ``TIE`` of it, best AUPRO, then nearest the default."""
    best = max(m["image_auroc"] for m in means.values())
    close = [key for key, m in means.items() if m["image_auroc"] >= best - TIE]
    top_pro = max(means[key]["aupro"] for key in close)
    closest = [key for key in close if means[key]["aupro"] >= top_pro - TIE]
    return min(closest, key=lambda key: sum(abs(np.log(v / d)) for (_, v), (_, d) in zip(key, default, strict=True)))


def report(name: str, runs: list[dict[Setting, dict[str, float]]], label: str) -> None:
    """Print the mean validation grid of ``runs`` (one per fit) and the pick for detector ``name``."""
    from services.core import registry

    keys = ("image_auroc", "pixel_auroc", "aupro")
    means = {key: {k: float(np.mean([run[key][k] for run in runs])) for k in keys} for key in runs[0]}
    config = registry.detector_class("vision", name).Config()
    fields = [field for field, _ in next(iter(means))]
    default = tuple((field, float(getattr(config, field))) for field in fields)
    chosen = pick(means, default)
    rows = [[*(f"{v:g}" for _, v in key), *(f"{means[key][k]:.3f}" for k in keys),
             "chosen" if key == chosen else ("default" if key == default else "")] for key in means]
    print_table(f"{name}: validation crops (training rows, right half), mean over {label}",
                [*fields, "image AUROC", "pixel AUROC", "AUPRO", ""], rows)
    print(f"{name}: chosen {' '.join(f'{f}={v:g}' for f, v in chosen)} (default "
          f"{' '.join(f'{f}={v:g}' for f, v in default)})", flush=True)


def _saved_runs(paths: list[str]) -> dict[str, list[dict]]:
    """Saved fits of ``--save`` files, by detector."""
    runs: dict[str, list[dict]] = {}
    for path in paths:
        for fit in json.loads(Path(path).read_text()):
            runs.setdefault(fit["detector"], []).append(fit)
    return runs


def main() -> None:
    from services.core import registry
    from services.vision.data import CATEGORIES, inspection_set
    from services.vision.experiments import QUICK_CONFIGS, TRAINED_DETECTORS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--detectors", nargs="+", default=list(TRAINED_DETECTORS))
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="shortened training, 24 train / 16 validation crops")
    parser.add_argument("--save", help="write every fit's grid to this JSON file (to split a long run)")
    parser.add_argument("--load", nargs="+", help="merge saved runs and print the tables and choices (no training)")
    args = parser.parse_args()
    if args.load:
        for name, fits in _saved_runs(args.load).items():
            runs = [{tuple(sorted(row["setting"].items())): row for row in fit["grid"]} for fit in fits]
            label = ", ".join(sorted({f"{fit['category']} seed {fit['seed']}" for fit in fits}))
            report(name, runs, f"{len(fits)} fits ({label})")
        return
    if args.quick:
        args.train, args.test = 24, 16
    torch.set_num_threads(args.threads)
    saved: list[dict] = []
    for name in args.detectors:
        runs: list[dict[Setting, dict[str, float]]] = []
        for seed, category in itertools.product(args.seeds, args.categories):
            dataset = inspection_set(category, n_train=args.train, n_test=args.test, seed=seed, validation=True)
            detector = registry.detector_class("vision", name)({"seed": seed, **(QUICK_CONFIGS[name] if args.quick
                                                                                else {})})
            started = time.perf_counter()
            detector.fit(dataset.train_images)
            runs.append(grid_rows(detector, dataset))
            print(f"  {name} seed {seed} {category}: fitted and scored in {time.perf_counter() - started:.0f} s",
                  flush=True)
            if args.save:  # after every fit, so a long run cut short keeps what it finished
                grid = [{"setting": dict(key), **metrics} for key, metrics in runs[-1].items()]
                saved.append({"detector": name, "category": category, "seed": seed, "grid": grid})
                Path(args.save).write_text(json.dumps(saved))
        report(name, runs, f"{args.categories} × seeds {args.seeds}")


if __name__ == "__main__":
    main()
