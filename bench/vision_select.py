"""Choose the vision map post-processing (smoothing sigma, image-score top fraction) on validation crops only.

The image score of every trained vision detector is the mean of the top ``topk_ratio`` of its map after a
Gaussian smoothing of ``smoothing_sigma`` model pixels. Neither setting changes what is learned, so each
detector is fitted once per texture and validation seed and every pair of the grid is scored from the same
fit. Validation never touches a test row of the built-in set: the detector fits on crops of the left half
of the training rows and is judged on crops of the right half (``inspection_set(validation=True)``), half of
them carrying the built-in defect kinds drawn with the validation seed. The pick maximises the mean image
AUROC over textures and seeds (the target metric), ties (within 0.002) broken by AUPRO, then by nearness to
the current default. The printed choice is what ``VisionConfig`` / each detector's config then uses;
``bench/vision.py`` reports the test figures.

Run: ``python bench/vision_select.py [--seeds 0] [--detectors multi_ad patch_flow patchcore] [--quick]``
"""

from __future__ import annotations

import argparse
import itertools
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table

SIGMAS = (2.0, 4.0, 8.0)
TOPK_RATIOS = (0.001, 0.003, 0.01, 0.03, 0.1)
TIE = 0.002


def grid_rows(detector, dataset) -> dict[tuple[float, float], dict[str, float]]:  # type: ignore[no-untyped-def]
    """Validation metrics of a fitted ``detector`` for every (sigma, top fraction) of the grid.

    One forward pass with smoothing off gives the raw maps ``(N, S, S)``; each sigma smooths them with the
    detectors' own ``gaussian_blur`` and each top fraction takes the detector's own image score of those maps,
    so the grid costs no further forward pass. Pixel metrics depend on sigma only and are computed once per sigma.
    """
    from services.vision import metrics
    from services.vision.detectors.base import gaussian_blur
    from services.vision.experiments import score_dataset

    fitted = detector.config
    size = dataset.test_images.shape[1:3]
    if fitted.image_size is not None and size != (fitted.image_size, fitted.image_size):
        raise ValueError(f"validation crops {size} must be at the model resolution {fitted.image_size}")
    detector.config = fitted.model_copy(update={"smoothing_sigma": 0.0})
    _, raw = score_dataset(detector, dataset.test_images)
    rows = {}
    for sigma in SIGMAS:
        maps = gaussian_blur(torch.from_numpy(raw), sigma)
        pixel = {"pixel_auroc": metrics.pixel_auroc(dataset.test_masks, maps.numpy()),
                 "aupro": metrics.aupro(dataset.test_masks, maps.numpy())}
        for topk in TOPK_RATIOS:
            detector.config = fitted.model_copy(update={"smoothing_sigma": sigma, "topk_ratio": topk})
            scores = detector._image_scores(maps).numpy()
            rows[(sigma, topk)] = {"image_auroc": metrics.image_auroc(dataset.test_labels, scores), **pixel}
    detector.config = fitted
    return rows


def pick(means: dict[tuple[float, float], dict[str, float]], default: tuple[float, float]) -> tuple[float, float]:
    """The grid point with the best image AUROC; within ``TIE`` of it, best AUPRO, then nearest the default."""
    best = max(m["image_auroc"] for m in means.values())
    close = [key for key, m in means.items() if m["image_auroc"] >= best - TIE]
    top_pro = max(means[key]["aupro"] for key in close)
    closest = [key for key in close if means[key]["aupro"] >= top_pro - TIE]
    return min(closest, key=lambda key: abs(np.log(key[0] / default[0])) + abs(np.log(key[1] / default[1])))


def main() -> None:
    from services.core import registry
    from services.vision.data import CATEGORIES, inspection_set
    from services.vision.experiments import QUICK_CONFIGS, TRAINED_DETECTORS

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--detectors", nargs="+", default=list(TRAINED_DETECTORS))
    parser.add_argument("--train", type=int, default=64)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="shortened training, 24 train / 16 validation crops")
    args = parser.parse_args()
    if args.quick:
        args.train, args.test = 24, 16
    torch.set_num_threads(args.threads)
    keys = ("image_auroc", "pixel_auroc", "aupro")
    for name in args.detectors:
        runs: list[dict[tuple[float, float], dict[str, float]]] = []
        for seed, category in itertools.product(args.seeds, args.categories):
            dataset = inspection_set(category, n_train=args.train, n_test=args.test, seed=seed, validation=True)
            detector = registry.detector_class("vision", name)({"seed": seed, **(QUICK_CONFIGS[name] if args.quick
                                                                                else {})})
            started = time.perf_counter()
            detector.fit(dataset.train_images)
            runs.append(grid_rows(detector, dataset))
            print(f"  {name} seed {seed} {category}: fitted and scored in {time.perf_counter() - started:.0f} s",
                  flush=True)
        means = {key: {k: float(np.mean([run[key][k] for run in runs])) for k in keys} for key in runs[0]}
        default = (detector.Config().smoothing_sigma, detector.Config().topk_ratio)
        chosen = pick(means, default)
        rows = [[f"{sigma:g}", f"{topk:g}", *(f"{means[(sigma, topk)][k]:.3f}" for k in keys),
                 "chosen" if (sigma, topk) == chosen else ("default" if (sigma, topk) == default else "")]
                for sigma, topk in means]
        print_table(f"{name}: validation crops (training rows, right half), mean over {args.categories} × seeds "
                    f"{args.seeds}", ["sigma", "top fraction", "image AUROC", "pixel AUROC", "AUPRO", ""], rows)
        print(f"{name}: chosen smoothing_sigma={chosen[0]:g} topk_ratio={chosen[1]:g} (default {default[0]:g} / "
              f"{default[1]:g})", flush=True)


if __name__ == "__main__":
    main()
