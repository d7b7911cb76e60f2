"""Fashion-MNIST from local idx files, and the standard one-class protocol built on it.

The files come from Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist/``) or
from any folder holding the same four files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``), e.g. a copy of Zalando's release.
Nothing is downloaded. ``POLYAD_FASHION_MNIST`` overrides the default folder.

One-class protocol (Ruff et al., 2018): class ``c`` is normal; train on the training images of ``c``
only; test on the whole test split with ``label != c`` as anomalous; report image AUROC per class and
the mean over the ten classes.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CLASSES",
    "DEFAULT_DIR",
    "FashionMNISTMissingError",
    "OneClassSplit",
    "find_fashion_mnist",
    "load_fashion_mnist",
    "one_class_split",
    "to_rgb",
]

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "POLYAD_FASHION_MNIST"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {0x08: np.uint8}


class FashionMNISTMissingError(FileNotFoundError):
    """The idx files are not where we looked; the message says where and how to get them."""


def _file(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(folder: str | Path | None = None) -> Path:
    """The folder holding the four idx files: ``folder``, else ``$POLYAD_FASHION_MNIST``, else the Debian path."""
    candidates = [Path(folder)] if folder else []
    if not folder and os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    if not folder:
        candidates.append(DEFAULT_DIR)
    for candidate in candidates:
        if all(_file(candidate, stem) for pair in _FILES.values() for stem in pair):
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FashionMNISTMissingError(
        f"Fashion-MNIST idx files not found (looked in: {looked}); install the Debian package "
        f"`dataset-fashion-mnist` (apt-get install dataset-fashion-mnist) or point {ENV_VAR} / --data at a folder "
        "holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
        "t10k-labels-idx1-ubyte[.gz]"
    )


def read_idx(path: Path) -> np.ndarray:
    """One idx file (optionally gzipped) -> its array (uint8 images ``(N, 28, 28)`` or labels ``(N,)``)."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an unsigned-byte idx file (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def load_fashion_mnist(split: str = "train", folder: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of ``split`` ("train": 60000, "test": 10000)."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = find_fashion_mnist(folder)
    images_stem, labels_stem = _FILES[split]
    images, labels = read_idx(_file(root, images_stem)), read_idx(_file(root, labels_stem))
    if images.ndim != 3 or labels.shape != (len(images),):
        raise ValueError(f"{root}: images {images.shape} and labels {labels.shape} do not match")
    return images, labels.astype(np.int64)


def to_rgb(images: np.ndarray, size: int = 32) -> np.ndarray:
    """Grayscale ``(N, h, w)`` uint8 -> RGB ``(N, size, size, 3)`` uint8 (zero-padded to ``size``, centred).

    Padding, not resizing: 28x28 digits-style images become the 32x32 inputs the vision detectors accept.
    """
    n, h, w = images.shape
    if size < max(h, w):
        raise ValueError(f"size {size} is smaller than the images ({h}x{w})")
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((n, size, size), dtype=np.uint8)
    out[:, top: top + h, left: left + w] = images
    return np.repeat(out[..., None], 3, axis=-1)


@dataclass(frozen=True)
class OneClassSplit:
    """One normal class: training, validation (normal + anomalous) and test images with labels (1 = anomalous)."""

    normal_class: int
    train: np.ndarray  # (n_train, 28, 28) uint8, all of the normal class
    val: np.ndarray  # (n_val, 28, 28) uint8, from the training split (never the test split)
    val_labels: np.ndarray  # (n_val,) int8
    test: np.ndarray  # (n_test, 28, 28) uint8
    test_labels: np.ndarray  # (n_test,) int8


def one_class_split(
    normal_class: int,
    n_train: int | None = None,
    n_val: int = 0,
    n_test: int | None = None,
    seed: int = 0,
    folder: str | Path | None = None,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> OneClassSplit:
    """The one-class protocol for ``normal_class``, optionally subsampled with a fixed seed.

    ``n_train`` normal training images (None = all 6000); ``n_val`` validation images drawn from the *training*
    split, disjoint from the training subsample, half normal and half other classes (for choices on
    validation data only); ``n_test`` test images drawn uniformly from the 10000 (None = all). ``data`` passes
    pre-loaded ``(train_x, train_y, test_x, test_y)`` arrays instead of reading the files.
    """
    if not 0 <= normal_class < len(CLASSES):
        raise ValueError(f"normal_class must be in 0..9, got {normal_class}")
    if data is None:
        data = (*load_fashion_mnist("train", folder), *load_fashion_mnist("test", folder))
    train_x, train_y, test_x, test_y = data
    rng = np.random.default_rng(seed)
    normal = rng.permutation(np.flatnonzero(train_y == normal_class))
    others = rng.permutation(np.flatnonzero(train_y != normal_class))
    n_train = len(normal) - n_val // 2 if n_train is None else n_train
    if n_train + n_val // 2 > len(normal):
        raise ValueError(f"{n_train} + {n_val // 2} normal images asked, class {normal_class} has {len(normal)}")
    train_idx = normal[:n_train]
    val_idx = np.concatenate([normal[n_train: n_train + n_val // 2], others[: n_val - n_val // 2]])
    test_idx = np.arange(len(test_y)) if n_test is None else np.sort(rng.permutation(len(test_y))[:n_test])
    return OneClassSplit(
        normal_class=normal_class,
        train=train_x[train_idx],
        val=train_x[val_idx],
        val_labels=(train_y[val_idx] != normal_class).astype(np.int8),
        test=test_x[test_idx],
        test_labels=(test_y[test_idx] != normal_class).astype(np.int8),
    )
