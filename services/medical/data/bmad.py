"""Loader for the BMAD benchmark layout (BraTS2021, BTCV + LiTS, RESC, OCT2017) on users' own copies.

Layout: ``<root>/train/good/*``, ``<root>/test/good[/img]/*``, ``<root>/test/Ungood[/img]/*`` with optional pixel
masks in ``<root>/test/<good|Ungood>/label/<same name>`` (OCT2017 has none: image labels only), and an optional
``valid`` split of the same shape. Images (PNG / JPEG, 8 or 16 bit) are read as grayscale, scaled to [0, 1]
per image (0.5-99.5 percentiles), resized to ``size`` and repeated to 3 channels (BMAD ships 2-D slices).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from services.medical.data.common import SliceSet
from services.medical.windowing import percentile_scale

__all__ = ["load_bmad"]

_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def _files(folder: Path) -> list[Path]:
    if (folder / "img").is_dir():
        folder = folder / "img"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXTS) if folder.is_dir() else []


def _read(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as image:
        values = np.asarray(image.convert("F") if image.mode not in ("I;16", "I", "F") else image, np.float32)
    scaled = percentile_scale(values)
    resized = np.asarray(Image.fromarray(scaled, mode="F").resize((size, size), Image.Resampling.BILINEAR))
    return np.repeat(np.clip(resized, 0, 1)[None], 3, axis=0).astype(np.float32)


def _mask(folder: Path, name: str, size: int) -> tuple[np.ndarray, bool]:
    for candidate in (folder / "label" / name, *(folder / "label").glob(Path(name).stem + ".*")):
        if candidate.is_file():
            with Image.open(candidate) as image:
                return np.asarray(image.convert("L").resize((size, size), Image.Resampling.NEAREST)) > 0, True
    return np.zeros((size, size), bool), False


def load_bmad(root: str | Path, size: int = 240) -> SliceSet:
    """A BMAD-layout folder -> :class:`SliceSet` (``val`` from ``valid/good`` when present, else empty)."""
    root = Path(root)
    train_files = _files(root / "train" / "good")
    if not train_files:
        raise FileNotFoundError(f"{root}/train/good holds no images; expected the BMAD layout (see module doc)")
    test, labels, masks, kinds, found = [], [], [], [], []
    for label, split in ((0, "good"), (1, "Ungood")):
        folder = root / "test" / split
        for path in _files(folder):
            test.append(_read(path, size))
            mask, has = _mask(folder, path.name, size)
            masks.append(mask)
            found.append(has or label == 0)
            labels.append(label)
            kinds.append(split)
    if not test:
        raise FileNotFoundError(f"{root}/test/good and {root}/test/Ungood hold no images")
    val_files = _files(root / "valid" / "good")
    n_train, n_val, n_test = len(train_files), len(val_files), len(test)
    empty = np.zeros((0, 3, size, size), np.float32)
    return SliceSet(
        name=root.name,
        train=np.stack([_read(p, size) for p in train_files]),
        val=np.stack([_read(p, size) for p in val_files]) if val_files else empty,
        test=np.stack(test), test_labels=np.asarray(labels, np.int64), test_masks=np.stack(masks),
        train_pos=np.zeros(n_train, int), val_pos=np.zeros(n_val, int), test_pos=np.zeros(n_test, int),
        test_kinds=kinds, has_masks=all(found),
    )
