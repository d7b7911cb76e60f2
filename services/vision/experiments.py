"""Held-out evaluation shared by ``polyad eval vision`` and the vision benchmarks: fit on normal, score unseen.

``evaluate_mvtec`` runs the MVTec AD protocol on a user's copy (fit on ``train/good``, score every
``test/<defect>`` image against its ``ground_truth`` mask; images and masks at 256x256) and
``anomalib_tables`` prints the figures the way anomalib's model pages publish them: one markdown table per
metric, a row per model, ``Avg`` then one column per category, so the numbers sit beside anomalib's directly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from services.vision import data, metrics

__all__ = [
    "METRIC_TITLES",
    "QUICK_CONFIGS",
    "TRAINED_DETECTORS",
    "anomalib_tables",
    "evaluate_detector",
    "evaluate_mvtec",
    "metrics_row",
    "mvtec_categories",
    "score_dataset",
]

TRAINED_DETECTORS: tuple[str, ...] = ("multi_ad", "patch_flow", "patchcore")
"""The vision detectors that train on normal images (the zero-shot ones need a VLM checkpoint)."""
QUICK_CONFIGS: dict[str, dict[str, Any]] = {
    "multi_ad": {"kd_steps": 200, "disc_steps": 100},
    "patch_flow": {"train_steps": 300},
    "patchcore": {},
}
"""Shorter training for ``--quick`` runs (a fast look, not the figures the README quotes)."""
METRIC_TITLES = {"image_auroc": "Image-Level AUC", "pixel_auroc": "Pixel-Level AUC", "aupro": "Pixel-Level AUPRO"}


def metrics_row(labels: np.ndarray, scores: np.ndarray, masks: np.ndarray, maps: np.ndarray) -> dict[str, float]:
    """Image AUROC, pixel AUROC and AUPRO (FPR ≤ 0.3, normalised) for one test set."""
    return {
        "image_auroc": metrics.image_auroc(labels, scores),
        "pixel_auroc": metrics.pixel_auroc(masks, maps),
        "aupro": metrics.aupro(masks, maps),
    }


def score_dataset(detector: Any, images: np.ndarray, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(N,)`` and maps ``(N, H, W)`` of a fitted detector, ``batch_size`` images a call."""
    parts = [detector.score_and_explain(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate([s for s, _ in parts]), np.concatenate([m for _, m in parts])


def evaluate_detector(detector: Any, dataset: data.ImageDataset, batch_size: int = 8) -> dict[str, Any]:
    """Fit ``detector`` on ``dataset.train_images`` (normal only), score the unseen test crops.

    The row also holds the test ``scores (M,)`` and ``maps (M, H, W)`` for per-kind breakdowns.
    """
    started = time.perf_counter()
    detector.fit(dataset.train_images)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scores, maps = score_dataset(detector, dataset.test_images, batch_size)
    score_s = time.perf_counter() - started
    row = metrics_row(dataset.test_labels, scores, dataset.test_masks, maps)
    return {**row, "fit_s": fit_s, "ms_per_image": 1000 * score_s / len(dataset.test_images),
            "scores": scores, "maps": maps}


def mvtec_categories(root: str | Path) -> list[str]:
    """Category folders under an MVTec AD root (each holding ``train/`` and ``test/``), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; expected an MVTec AD root (<category>/train, test)")
    found = sorted(p.name for p in root.iterdir() if (p / "train").is_dir() and (p / "test").is_dir())
    if not found:
        raise FileNotFoundError(f"no MVTec AD category under {root}: expected <category>/train/good and test/")
    return found


def evaluate_mvtec(
    root: str | Path, detectors: dict[str, Any], categories: list[str] | None = None, size: int = 256
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{detector: {category: metrics row}}``: each ``detectors[name]()`` fitted per category on train/good."""
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in detectors}
    for category in categories or mvtec_categories(root):
        dataset = data.load_mvtec(root, category, size)
        for name, make in detectors.items():
            results[name][category] = evaluate_detector(make(), dataset)
    return results


def _title(category: str) -> str:
    return " ".join(word.capitalize() for word in category.split("_"))


def anomalib_tables(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown tables in anomalib's benchmark layout: ``### <metric>``, ``| | Avg | <Category> ... |``."""
    categories = list(next(iter(results.values())))
    lines: list[str] = []
    for key, title in METRIC_TITLES.items():
        lines += [f"### {title}", "", "| | Avg | " + " | ".join(_title(c) for c in categories) + " |",
                  "| - | - | " + " | ".join("-" for _ in categories) + " |"]
        for name, rows in results.items():
            values = [rows[c][key] for c in categories]
            lines.append(f"| {name} | {np.mean(values):.3f} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        lines.append("")
    return "\n".join(lines)
