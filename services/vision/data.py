"""Inspection data: MVTec AD / VisA loaders, the built-in texture inspection set, train-time anomaly synthesis.

Images are numpy ``uint8 (H, W, 3)`` RGB, masks ``bool (H, W)``, labels 0 (normal) / 1 (anomalous).

The built-in set (``inspection_set``) crops real defect-free surfaces shipped inside the scikit-image wheel
(``brick``, ``grass``, ``gravel``: 512x512 grayscale photographs; nothing is downloaded). Each texture is split
spatially: training crops come from rows 0-287, test crops from rows 320-511, so no pixel is shared. Half of
the test crops carry one synthetic defect with an exact pixel mask (``DEFECT_KINDS``: scratches are thin
polylines, cracks darker branching random walks, cut-paste a rotated and recoloured patch of another crop of the
same texture, stains blurred colour blobs, holes dark ellipses with shaded rims).

``synthesize_training_anomaly`` is what detectors may use during training (e.g. Multi-AD's discriminator). It
shares NO generator with the test defects: its masks are thresholded fractal Perlin noise and its fillings are
procedural patterns (colour plasma, stripes/checkers) or colour jitter plus Gaussian noise, never skimage
textures, lines, walks, ellipses or transplanted patches, so the figures measure defects the model never saw.
"""

from __future__ import annotations

import colorsys
import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

__all__ = [
    "CATEGORIES",
    "DEFECT_KINDS",
    "ImageDataset",
    "InspectionSet",
    "inspection_set",
    "load_mvtec",
    "load_visa",
    "synthesize_training_anomaly",
]

CATEGORIES: tuple[str, ...] = ("brick", "grass", "gravel")
DEFECT_KINDS: tuple[str, ...] = ("scratch", "crack", "cut_paste", "stain", "hole")
_TRAIN_ROWS, _TEST_ROWS, _CROP = (0, 288), (320, 512), 192  # texture rows per split; source crop side (px)
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


def _crop(category: str, rows: tuple[int, int], size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``_CROP`` square from ``rows`` of the texture, randomly flipped, resized to ``(size, size, 3)``."""
    tex = _texture(category)[rows[0] : rows[1]]
    y = int(rng.integers(0, tex.shape[0] - _CROP + 1))
    x = int(rng.integers(0, tex.shape[1] - _CROP + 1))
    patch = tex[y : y + _CROP, x : x + _CROP]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if rng.random() < 0.5:
        patch = patch[::-1]
    im = Image.fromarray(np.ascontiguousarray(patch)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def _draw(size: int, paths: list[tuple[list[tuple[float, float]], int]]) -> np.ndarray:
    """Rasterise polylines ``[(points, width)]`` into a bool ``(size, size)`` mask."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for points, width in paths:
        draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(canvas) > 0


def _scratch(img: np.ndarray, rng: np.random.Generator, donor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    p, angle = rng.uniform(0.15, 0.85, 2) * s, rng.uniform(0, 2 * np.pi)
    points = [tuple(p)]
    for _ in range(int(rng.integers(2, 5))):
        angle += rng.normal(0, 0.35)
        p = p + rng.uniform(0.08, 0.22) * s * np.array([np.cos(angle), np.sin(angle)])
        points.append(tuple(p))
    mask = _draw(s, [(points, max(1, round(s / 256 * rng.uniform(1.5, 3.5))))])
    tone = rng.uniform(215, 255) if rng.random() < 0.6 else rng.uniform(0, 35)
    out = img.astype(np.float32)
    out[mask] = 0.85 * tone + 0.15 * out[mask]
    return out, mask


def _crack(img: np.ndarray, rng: np.random.Generator, donor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    paths: list[tuple[list[tuple[float, float]], int]] = []
    stack = [(rng.uniform(0.2, 0.8, 2) * s, rng.uniform(0, 2 * np.pi), int(rng.integers(40, 90)), 0)]
    while stack:
        p, angle, steps, depth = stack.pop()
        points = [tuple(p)]
        for _ in range(steps):
            angle += rng.normal(0, 0.3)
            p = p + s / 256 * 2.0 * np.array([np.cos(angle), np.sin(angle)])
            points.append(tuple(p))
            if depth < 2 and rng.random() < 0.04:
                stack.append((p.copy(), angle + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2), steps // 2, depth + 1))
        paths.append((points, max(1, round(s / 256 * (2.5 - depth)))))
    mask = _draw(s, paths)
    out = img.astype(np.float32)
    out[mask] *= rng.uniform(0.15, 0.4)
    return out, mask


def _cut_paste(img: np.ndarray, rng: np.random.Generator, donor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    h, w = rng.uniform(0.12, 0.3, 2) * s
    c, theta = rng.uniform(0.25, 0.75, 2) * s, rng.uniform(0, np.pi)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    corners = [tuple(c + rot @ np.array([dx, dy]) / 2) for dx, dy in ((-w, -h), (w, -h), (w, h), (-w, h))]
    canvas = Image.new("L", (s, s), 0)
    ImageDraw.Draw(canvas).polygon(corners, fill=255)
    mask = np.asarray(canvas) > 0
    patch = np.rot90(donor, int(rng.integers(1, 4))).astype(np.float32)  # donor: another crop of the texture
    gain = rng.uniform(0.5, 0.72) if rng.random() < 0.5 else rng.uniform(1.35, 1.7)
    tint = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    out = img.astype(np.float32)
    out[mask] = (patch[mask] - 128) * rng.uniform(0.8, 1.3) + 128 * gain
    out[mask] *= tint
    return out, mask


def _stain(img: np.ndarray, rng: np.random.Generator, donor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    blob = np.zeros((s, s), dtype=np.float32)
    centre, r = rng.uniform(0.25, 0.75, 2) * s, rng.uniform(0.05, 0.1) * s
    for _ in range(int(rng.integers(3, 7))):
        cy, cx = centre + rng.normal(0, r * 0.8, 2)
        yy, xx = np.ogrid[:s, :s]
        blob = np.maximum(blob, np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (r * rng.uniform(0.5, 1.0)) ** 2)))
    blob = ndimage.gaussian_filter(blob, sigma=s / 128)
    alpha = np.clip((blob / blob.max() - 0.35) / 0.3, 0, 1) * rng.uniform(0.55, 0.85)
    mask = alpha > 0
    hue = rng.uniform(0.02, 0.1) if rng.random() < 0.5 else rng.random()  # rust-brown half of the time
    colour = 255 * np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.25, 0.9)))
    out = img.astype(np.float32)
    stained = out * 0.5 + colour.astype(np.float32) * 0.5
    out = out * (1 - alpha[..., None]) + stained * alpha[..., None]
    return out, mask


def _hole(img: np.ndarray, rng: np.random.Generator, donor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = img.shape[0]
    (cy, cx), (a, b) = rng.uniform(0.2, 0.8, 2) * s, rng.uniform(0.04, 0.1, 2) * s
    theta, light = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:s, :s].astype(np.float32)
    u = ((xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)) / a
    v = (-(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)) / b
    r = np.sqrt(u**2 + v**2)
    mask = r <= 1.0
    facing = (u * np.cos(light) + v * np.sin(light)) / np.maximum(r, 1e-6)  # -1..1: which side of the rim
    rim = np.clip((r - 0.7) / 0.3, 0, 1)
    shade = rng.uniform(15, 45) + 25 * (1 - r) + rim * (70 * facing + 50)  # dark floor, lit/shadowed inner wall
    out = img.astype(np.float32)
    out[mask] = 0.85 * shade[mask, None] + 0.15 * out[mask]
    return out, mask


_DEFECTS = {"scratch": _scratch, "crack": _crack, "cut_paste": _cut_paste, "stain": _stain, "hole": _hole}


def inspection_set(category: str, n_train: int = 64, n_test: int = 40, size: int = 256, seed: int = 0) -> InspectionSet:
    """Normal training crops and a test split (every other crop defective, kinds cycling) from one texture.

    Deterministic from ``(category, seed)``; train and test crops come from disjoint texture rows.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown inspection category {category!r}; choose from {CATEGORIES}")
    rng = np.random.default_rng([seed, CATEGORIES.index(category), 1729])
    train = [_crop(category, _TRAIN_ROWS, size, rng) for _ in range(n_train)]
    images, masks, labels, kinds = [], [], [], []
    for i in range(n_test):
        img = _crop(category, _TEST_ROWS, size, rng)
        mask, kind = np.zeros((size, size), dtype=bool), "good"
        if i % 2 == 1:
            kind = DEFECT_KINDS[(i // 2) % len(DEFECT_KINDS)]
            donor = _crop(category, _TEST_ROWS, size, rng)
            while mask.sum() < max(16, size * size // 2000):
                out, mask = _DEFECTS[kind](img, rng, donor)
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


# ------------------------------------------------------------------------------ train-time anomaly synthesis
def _perlin(size: int, res: int, rng: np.random.Generator) -> np.ndarray:
    """2-D gradient (Perlin) noise ``(size, size)`` with ``res`` lattice cells per side, values ~[-0.7, 0.7]."""
    angles = rng.uniform(0, 2 * np.pi, (res + 1, res + 1))
    grads = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    t = np.arange(size) * res / size
    i, f = t.astype(int), t - t.astype(int)
    fade = f**3 * (f * (f * 6 - 15) + 10)

    def corner(dy: int, dx: int) -> np.ndarray:
        g = grads[np.ix_(i + dy, i + dx)]
        return g[..., 0] * (f - dy)[:, None] + g[..., 1] * (f - dx)[None, :]

    top = corner(0, 0) + fade[None, :] * (corner(0, 1) - corner(0, 0))
    bottom = corner(1, 0) + fade[None, :] * (corner(1, 1) - corner(1, 0))
    return top + fade[:, None] * (bottom - top)


def _fractal(size: int, rng: np.random.Generator, base: int, octaves: int = 3) -> np.ndarray:
    return sum(0.5**o * _perlin(size, base * 2**o, rng) for o in range(octaves))


def _foreign(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A procedural filling ``(H, W, 3)`` float: colour plasma, stripes/checkers, or jittered noisy copy."""
    (h, w), choice = img.shape[:2], int(rng.integers(3))
    s = max(h, w)
    if choice == 0:  # colour plasma from fractal noise
        return np.stack(
            [
                np.interp(_fractal(s, rng, int(rng.integers(2, 6)))[:h, :w], [-1, 1], rng.uniform(0, 255, 2))
                for _ in range(3)
            ],
            axis=-1,
        )
    if choice == 1:  # stripes or checkers in two random colours
        yy, xx = np.mgrid[:h, :w] / s
        theta, freq = rng.uniform(0, np.pi), rng.uniform(4, 20)
        wave = np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)))
        if rng.random() < 0.5:
            wave = wave * np.sin(2 * np.pi * freq * (-xx * np.sin(theta) + yy * np.cos(theta)))
        c0, c1 = rng.uniform(0, 255, (2, 3))
        return np.where(wave[..., None] > 0, c0, c1)
    jitter = img.astype(np.float64) * rng.uniform(0.5, 1.5, 3) + rng.uniform(-60, 60, 3)
    return jitter + rng.normal(0, rng.uniform(10, 40), img.shape)


def synthesize_training_anomaly(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paint one train-time anomaly on ``image (H, W, 3)`` uint8 -> (``uint8 (H, W, 3)``, ``bool (H, W)`` mask).

    Mask: fractal Perlin noise thresholded at a random quantile (1-12 % of the image). Filling: a procedural
    pattern (see ``_foreign``) blended with opacity 0.4-1. Shares no generator with ``inspection_set``'s defects.
    """
    h, w = image.shape[:2]
    s = max(h, w)
    noise = _fractal(s, rng, int(rng.integers(2, 7)))[:h, :w]
    mask = noise > np.quantile(noise, 1 - rng.uniform(0.01, 0.12))
    filling = _foreign(image, rng)
    beta = rng.uniform(0.4, 1.0)
    out = image.astype(np.float64)
    out[mask] = (1 - beta) * out[mask] + beta * filling[mask]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask
