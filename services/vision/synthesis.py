"""Train-time anomaly synthesis (e.g. for Multi-AD's discriminator).

It shares NO generator with the test defects of :mod:`services.vision.defects`: masks are thresholded
fractal Perlin noise and fillings are procedural patterns (colour plasma, stripes/checkers) or colour
jitter plus Gaussian noise, never textures, lines, walks, ellipses or transplanted patches, so the
figures measure defects the model never saw.
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthesize_training_anomaly"]


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


def fractal_noise(size: int, rng: np.random.Generator, base: int, octaves: int = 3) -> np.ndarray:
    """Fractal gradient noise ``(size, size)``: ``octaves`` Perlin layers from ``base`` cells per side."""
    return sum(0.5**o * _perlin(size, base * 2**o, rng) for o in range(octaves))


def _foreign(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A procedural filling ``(H, W, 3)`` float: colour plasma, stripes/checkers, or jittered noisy copy."""
    (h, w), choice = img.shape[:2], int(rng.integers(3))
    s = max(h, w)
    if choice == 0:  # colour plasma from fractal noise
        return np.stack(
            [
                np.interp(fractal_noise(s, rng, int(rng.integers(2, 6)))[:h, :w], [-1, 1], rng.uniform(0, 255, 2))
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
    noise = fractal_noise(s, rng, int(rng.integers(2, 7)))[:h, :w]
    mask = noise > np.quantile(noise, 1 - rng.uniform(0.01, 0.12))
    filling = _foreign(image, rng)
    beta = rng.uniform(0.4, 1.0)
    out = image.astype(np.float64)
    out[mask] = (1 - beta) * out[mask] + beta * filling[mask]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask
