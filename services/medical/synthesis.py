"""Train-time anomaly synthesis for medical slices (Multi-AD's discriminator).

It shares NO generator with the evaluation lesions of :mod:`services.medical.data.lesions`: masks here are
thresholded fractal Perlin noise (sharp, irregular, any topology), fillings are gray plasma, a constant grey
level or an intensity rescaling, all with white noise; the evaluation lesions are smooth star-shaped
3-D bodies with filtered-noise texture, rims and mass effect. The figures therefore measure lesions the
model never saw in training.
"""

from __future__ import annotations

import numpy as np

from services.vision.synthesis import fractal_noise

__all__ = ["synthesize_slice_anomaly"]


def synthesize_slice_anomaly(stack: np.ndarray, rng: np.random.Generator,
                             level: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """One train-time anomaly on a 2.5D stack ``(3, H, W)`` in [0, 1] -> (stack ``(3, H, W)``, mask ``(H, W)`` bool).

    The mask (1-10 % of the foreground, foreground = centre slice above ``level``; the whole image when the
    slice is nearly empty) is Perlin noise above a random quantile. The filling, blended with opacity 0.5-1,
    is painted into all three slices (weaker in the outer two, as a lesion thinning out of plane).
    """
    _, h, w = stack.shape
    s = max(h, w)
    foreground = stack[1] > level
    if foreground.mean() < 0.05:
        foreground = np.ones_like(foreground)
    noise = fractal_noise(s, rng, int(rng.integers(2, 7)))[:h, :w]
    inside = noise[foreground]
    mask = foreground & (noise > np.quantile(inside, 1 - rng.uniform(0.01, 0.10)))
    choice = int(rng.integers(3))
    if choice == 0:  # gray plasma
        plasma = fractal_noise(s, rng, int(rng.integers(2, 6)))[:h, :w]
        filling = np.interp(plasma, [-1, 1], np.sort(rng.uniform(0, 1, 2)))
    elif choice == 1:  # constant grey level
        filling = np.full((h, w), rng.uniform(0, 1))
    else:  # darker or brighter tissue
        filling = stack[1] * (rng.uniform(0.2, 0.7) if rng.random() < 0.5 else rng.uniform(1.3, 2.0))
    filling = filling + rng.normal(0, rng.uniform(0.0, 0.08), (h, w))
    beta = rng.uniform(0.5, 1.0)
    out = stack.astype(np.float64).copy()
    for c, weight in enumerate((rng.uniform(0.3, 1.0), 1.0, rng.uniform(0.3, 1.0))):
        b = beta * weight
        out[c][mask] = (1 - b) * out[c][mask] + b * filling[mask]
    return np.clip(out, 0.0, 1.0).astype(np.float32), mask
