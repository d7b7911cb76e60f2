"""Baselines on cubes ``(H, W, B)``: global RX, local dual-window RX, per-pixel Isolation Forest."""

from __future__ import annotations

import numpy as np

__all__ = ["global_rx", "isolation_forest", "local_rx", "pca_reduce"]


def global_rx(cube: np.ndarray) -> np.ndarray:
    """Reed–Xiaoli Mahalanobis distance to the scene mean/covariance ``(H, W)`` (``spectral.rx``)."""
    import spectral

    return np.asarray(spectral.rx(np.asarray(cube, dtype=np.float64)), dtype=np.float32)


def pca_reduce(cube: np.ndarray, components: int) -> np.ndarray:
    """Project ``(H, W, B)`` on its first ``components`` principal components → ``(H, W, k)``."""
    flat = np.asarray(cube, dtype=np.float64).reshape(-1, cube.shape[-1])
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat[:: max(1, flat.shape[0] // 20000)], full_matrices=False)
    return (flat @ vt[:components].T).reshape(*cube.shape[:2], -1)


def local_rx(cube: np.ndarray, inner: int = 5, outer: int = 15, components: int = 10,
             ridge: float = 1e-6) -> np.ndarray:
    """Dual-window RX ``(H, W)``: mean and covariance from the ring between an ``inner`` and an ``outer``
    window around each pixel, on the first ``components`` principal components.

    The ring statistics are box sums (outer minus inner, reflect-padded borders), so all pixels are done
    at once; this matches ``spectral.rx(X, window=(inner, outer))`` away from the borders (a test checks it).
    """
    from scipy.ndimage import uniform_filter

    x = pca_reduce(cube, components) if components < cube.shape[-1] else np.asarray(cube, dtype=np.float64)
    k = x.shape[-1]
    n_ring = outer * outer - inner * inner

    def ring_sum(values: np.ndarray) -> np.ndarray:
        def box(size: int) -> np.ndarray:
            return uniform_filter(values, size=(size, size, 1), mode="reflect") * size * size
        return box(outer) - box(inner)

    mean = ring_sum(x) / n_ring
    pairs = (x[..., :, None] * x[..., None, :]).reshape(*x.shape[:2], k * k)
    second = ring_sum(pairs).reshape(*x.shape[:2], k, k) / n_ring
    cov = (second - mean[..., :, None] * mean[..., None, :]) * n_ring / (n_ring - 1)
    cov += ridge * np.trace(cov, axis1=-2, axis2=-1)[..., None, None] / k * np.eye(k)
    d = (x - mean)[..., None]
    return np.squeeze(np.swapaxes(d, -1, -2) @ np.linalg.solve(cov, d), (-1, -2)).astype(np.float32)


def isolation_forest(cube: np.ndarray, seed: int = 0, n_estimators: int = 100, components: int = 20) -> np.ndarray:
    """Per-pixel Isolation Forest ``(H, W)`` on the first ``components`` principal components."""
    from sklearn.ensemble import IsolationForest

    x = pca_reduce(cube, components).reshape(-1, min(components, cube.shape[-1]))
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed).fit(x)
    return (-forest.score_samples(x)).reshape(cube.shape[:2]).astype(np.float32)
