"""Test-time defects of the built-in inspection set, each with an exact pixel mask.

Scratches are thin polylines, cracks darker branching random walks, cut-paste a rotated and recoloured
patch of another crop of the same texture, stains blurred colour blobs, holes dark ellipses with shaded
rims. Nothing here is used in training: train-time synthesis lives in :mod:`services.vision.synthesis`.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

__all__ = ["DEFECTS", "DEFECT_KINDS"]

DEFECT_KINDS: tuple[str, ...] = ("scratch", "crack", "cut_paste", "stain", "hole")


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


DEFECTS = {"scratch": _scratch, "crack": _crack, "cut_paste": _cut_paste, "stain": _stain, "hole": _hole}

