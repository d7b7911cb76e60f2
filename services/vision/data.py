"""Inspection data: MVTec AD / VisA loaders, the built-in texture inspection set, train-time anomaly synthesis.

Images are numpy ``uint8 (H, W, 3)`` RGB, masks ``bool (H, W)``, labels 0 (normal) / 1 (anomalous).

The built-in set (``inspection_set``) crops real defect-free surfaces shipped inside the scikit-image wheel
(``brick``, ``grass``, ``gravel``: 512x512 grayscale photographs; nothing is downloaded). Each texture is split
spatially (``REGIONS``): training crops come from rows 0-287, test crops from rows 320-511, so no pixel is
shared. ``normal_crops`` cuts normal crops from any region: the default model calibrates on the ``calibration``
region (rows 320-511, columns 0-247) and its false-positive rate is checked on the ``fresh`` region (rows
320-511, columns 264-511), so calibration and fresh images share no pixel with training or each other. Half of
the test crops carry one synthetic defect with an exact pixel mask (``DEFECT_KINDS``: scratches are thin
polylines, cracks darker branching random walks, cut-paste a rotated and recoloured patch of another crop of the
same texture, stains blurred colour blobs, holes dark ellipses with shaded rims).

``synthesize_training_anomaly`` is what detectors may use during training (e.g. Multi-AD's discriminator). It
shares NO generator with the test defects: its masks are thresholded fractal Perlin noise and its fillings are
procedural patterns (colour plasma, stripes/checkers) or colour jitter plus Gaussian noise, never skimage
textures, lines, walks, ellipses or transplanted patches, so the figures measure defects the model never saw.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from services.vision.defects import DEFECT_KINDS, DEFECTS
from services.vision.synthesis import synthesize_training_anomaly

__all__ = [
    "CATEGORIES",
    "DEFECT_KINDS",
    "ImageDataset",
    "InspectionSet",
    "inspection_set",
    "load_mvtec",
    "load_visa",
    "normal_crops",
    "random_crop",
    "synthesize_training_anomaly",
]

CATEGORIES: tuple[str, ...] = ("brick", "grass", "gravel")
_CROP = 192  # source crop side (px)
Region = tuple[tuple[int, int], tuple[int, int]]
REGIONS: dict[str, Region] = {  # (rows, columns) of the 512x512 texture per split
    "train": ((0, 288), (0, 512)),
    "test": ((320, 512), (0, 512)),
    "calibration": ((320, 512), (0, 248)),
    "fresh": ((320, 512), (264, 512)),
    # validation for choices (bench/vision_select.py): both halves of the training rows, never test rows
    "validation_fit": ((0, 288), (0, 256)),
    "validation_test": ((0, 288), (256, 512)),
}
_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass
class ImageDataset:
    """Normal training images and a labelled test split, all resized to one size.

    ``train_images (N, H, W, 3)`` uint8, ``test_images (M, H, W, 3)`` uint8, ``test_labels (M,)`` int64,
    ``test_masks (M, H, W)`` bool, ``test_defects`` the defect type per test image (``"good"`` when normal).
    """

    category: str
    train_images: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    test_masks: np.ndarray
    test_defects: list[str] = field(default_factory=list)
    test_paths: list[str] = field(default_factory=list)
    calibration_images: np.ndarray | None = None  # (K, H, W, 3) normal images disjoint from train, if any


class InspectionSet(ImageDataset):
    """The built-in texture inspection set (see ``inspection_set``)."""


# ----------------------------------------------------------------------------------------------- file loaders
def _read_image(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def _read_mask(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize((size, size), Image.Resampling.NEAREST)) > 0


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_EXTS) if folder.is_dir() else []


def _stack(images: list[np.ndarray], size: int, channels: int | None = 3) -> np.ndarray:
    empty = (0, size, size, channels) if channels else (0, size, size)
    return np.stack(images) if images else np.zeros(empty, dtype=np.uint8 if channels else bool)


def load_mvtec(root: str | Path, category: str, size: int = 256) -> ImageDataset:
    """MVTec AD layout under ``<root>/<category>``.

    ``train/good/*``, ``test/<defect>/*`` (``good`` = normal), ``ground_truth/<defect>/<stem>_mask.png``.
    """
    base = Path(root) / category
    if not (base / "train").is_dir() or not (base / "test").is_dir():
        found = sorted(p.name for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
        raise FileNotFoundError(
            f"no MVTec category {category!r} under {root} (train/ and test/ expected); found {found}"
        )
    train = [_read_image(p, size) for p in _images_in(base / "train" / "good")]
    images, masks, labels, defects, paths = [], [], [], [], []
    for defect_dir in sorted(p for p in (base / "test").iterdir() if p.is_dir()):
        for p in _images_in(defect_dir):
            images.append(_read_image(p, size))
            good = defect_dir.name == "good"
            if good:
                masks.append(np.zeros((size, size), dtype=bool))
            else:
                mask_path = base / "ground_truth" / defect_dir.name / f"{p.stem}_mask.png"
                if not mask_path.is_file():
                    raise FileNotFoundError(f"missing ground-truth mask {mask_path} for {p}")
                masks.append(_read_mask(mask_path, size))
            labels.append(0 if good else 1)
            defects.append(defect_dir.name)
            paths.append(str(p))
    return ImageDataset(
        category,
        _stack(train, size),
        _stack(images, size),
        np.asarray(labels, dtype=np.int64),
        _stack(masks, size, None),
        defects,
        paths,
    )


def load_visa(root: str | Path, category: str, size: int = 256) -> ImageDataset:
    """VisA with its 1-class split: ``<root>/split_csv/1cls.csv`` (object,split,label,image,mask; paths under root)."""
    root = Path(root)
    split_csv = root / "split_csv" / "1cls.csv"
    if not split_csv.is_file():
        raise FileNotFoundError(f"VisA split file {split_csv} not found (object,split,label,image,mask expected)")
    with split_csv.open(newline="") as fh:
        rows = [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    rows = [r for r in rows if r["object"] == category]
    if not rows:
        raise FileNotFoundError(f"no VisA object {category!r} in {split_csv}")
    train, images, masks, labels, defects, paths = [], [], [], [], [], []
    for r in rows:
        anomalous = r["label"].lower() in {"anomaly", "anomalous", "1", "bad"}
        image = _read_image(root / r["image"], size)
        if r["split"] == "train":
            train.append(image)
            continue
        images.append(image)
        if anomalous and not r.get("mask"):
            raise FileNotFoundError(f"anomalous VisA image {r['image']} has no mask in {split_csv}")
        masks.append(_read_mask(root / r["mask"], size) if anomalous else np.zeros((size, size), dtype=bool))
        labels.append(int(anomalous))
        defects.append("anomaly" if anomalous else "good")
        paths.append(str(root / r["image"]))
    return ImageDataset(
        category,
        _stack(train, size),
        _stack(images, size),
        np.asarray(labels, dtype=np.int64),
        _stack(masks, size, None),
        defects,
        paths,
    )


# ----------------------------------------------------------------------------------------- built-in textures
@functools.cache
def _texture(category: str) -> np.ndarray:
    """A bundled scikit-image texture as ``(512, 512, 3)`` uint8 (grayscale replicated)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown inspection category {category!r}; choose from {CATEGORIES}")
    import skimage.data  # bundled in the wheel: brick/grass/gravel are local files, no download

    tex = getattr(skimage.data, category)()
    return np.repeat(tex[..., None], 3, axis=2) if tex.ndim == 2 else tex[..., :3]


def random_crop(source: np.ndarray, side: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``side`` square of ``source (H, W, 3)``, randomly flipped, resized to ``(size, size, 3)`` uint8."""
    y = int(rng.integers(0, source.shape[0] - side + 1))
    x = int(rng.integers(0, source.shape[1] - side + 1))
    patch = source[y : y + side, x : x + side]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.5:
        patch = patch[::-1]
    im = Image.fromarray(np.ascontiguousarray(patch)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def _crop(category: str, split: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of the texture's ``split`` region (see ``REGIONS``), ``(size, size, 3)`` uint8."""
    (top, bottom), (left, right) = REGIONS[split]
    return random_crop(_texture(category)[top:bottom, left:right], _CROP, size, rng)


def normal_crops(category: str, split: str, n: int, size: int = 256, seed: int = 0) -> np.ndarray:
    """``n`` normal crops ``(n, size, size, 3)`` uint8 of one texture region (``REGIONS`` key)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown inspection category {category!r}; choose from {CATEGORIES}")
    if split not in REGIONS:
        raise ValueError(f"unknown region {split!r}; choose from {sorted(REGIONS)}")
    rng = np.random.default_rng([seed, CATEGORIES.index(category), sorted(REGIONS).index(split), 2718])
    return _stack([_crop(category, split, size, rng) for _ in range(n)], size)


def inspection_set(category: str, n_train: int = 64, n_test: int = 40, size: int = 256, seed: int = 0,
                   validation: bool = False) -> InspectionSet:
    """Normal training crops and a test split (every other crop defective, kinds cycling) from one texture.

    Deterministic from ``(category, seed)``; train and test crops come from disjoint texture rows.
    ``validation=True`` cuts both from the training rows instead (left half to fit, right half to judge), so
    settings can be chosen without touching a test row.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown inspection category {category!r}; choose from {CATEGORIES}")
    fit_region, test_region = ("validation_fit", "validation_test") if validation else ("train", "test")
    rng = np.random.default_rng([seed, CATEGORIES.index(category), 1729, *([1] if validation else [])])
    train = [_crop(category, fit_region, size, rng) for _ in range(n_train)]
    images, masks, labels, kinds = [], [], [], []
    for i in range(n_test):
        img = _crop(category, test_region, size, rng)
        mask, kind = np.zeros((size, size), dtype=bool), "good"
        if i % 2 == 1:
            kind = DEFECT_KINDS[(i // 2) % len(DEFECT_KINDS)]
            donor = _crop(category, test_region, size, rng)
            while mask.sum() < max(16, size * size // 2000):
                out, mask = DEFECTS[kind](img, rng, donor)
            img = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        images.append(img)
        masks.append(mask)
        labels.append(int(kind != "good"))
        kinds.append(kind)
    return InspectionSet(
        category,
        _stack(train, size),
        _stack(images, size),
        np.asarray(labels, dtype=np.int64),
        _stack(masks, size, None),
        kinds,
        [f"builtin:{category}/{i}" for i in range(n_test)],
    )
