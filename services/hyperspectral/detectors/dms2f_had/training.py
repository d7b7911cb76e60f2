"""Unsupervised fitting and batched scoring of :class:`DMS2FHAD` on a normalised cube ``(H, W, B)``.

Training reconstructs the centre spectrum of randomly drawn pixels of the training cube (the field's
protocol trains on the unlabelled scene itself). A held-out share of pixels gives the early-stopping
criterion (reconstruction loss); labels are never used.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import Tensor

from services.hyperspectral.detectors.dms2f_had.config import DMS2FHADConfig
from services.hyperspectral.detectors.dms2f_had.model import DMS2FHAD
from services.hyperspectral.detectors.dms2f_had.windows import pad_cube, pixel_windows, window_offsets

__all__ = ["ResidualMetric", "build_model", "fit_model", "fit_residual_metric", "pixel_errors"]

ResidualMetric = tuple[Tensor, Tensor]
"""Mean ``(B,)`` and precision ``(B, B)`` of background reconstruction residuals."""


def build_model(cfg: DMS2FHADConfig, n_bands: int) -> DMS2FHAD:
    """The network of a configuration for ``n_bands`` (after preprocessing)."""
    return DMS2FHAD(n_bands, window=cfg.window, d_model=cfg.d_model, d_state=cfg.d_state, d_conv=cfg.d_conv,
                    expand=cfg.expand, depth=cfg.depth, group_size=cfg.group_size, group_stride=cfg.group_stride,
                    latent=cfg.latent, fusion=cfg.fusion, decoder_hidden=cfg.decoder_hidden, backend=cfg.backend)


def _batches(model: DMS2FHAD, padded: Tensor, pixels: Tensor, width: int, offsets: Tensor, size: int):  # type: ignore[no-untyped-def]
    for start in range(0, pixels.numel(), size):
        chunk = pixels[start: start + size]
        yield pixel_windows(padded, chunk // width, chunk % width, offsets)


def pixel_errors(model: DMS2FHAD, cube: Tensor, window: int, batch: int, pixels: Tensor | None = None,
                 metric: ResidualMetric | None = None) -> Tensor:
    """Reconstruction errors ``(n,)`` of ``pixels`` (flat row-major indices; None: every pixel).

    Without ``metric`` the error is the mean squared residual; with one, the Mahalanobis norm of the
    residual under the background residuals' covariance (small deviations in quiet directions count).
    """
    model.eval()
    h, w, _ = cube.shape
    pixels = torch.arange(h * w) if pixels is None else pixels
    padded, offsets = pad_cube(cube, window), window_offsets(window)
    errors = []
    with torch.no_grad():
        for win in _batches(model, padded, pixels, w, offsets, batch):
            res = model.residuals(win)
            if metric is None:
                errors.append(res.pow(2).mean(dim=-1))
            else:
                centred = res - metric[0]
                errors.append(((centred @ metric[1]) * centred).sum(dim=-1) / res.shape[-1])
    return torch.cat(errors) if errors else torch.zeros(0)


def fit_residual_metric(model: DMS2FHAD, cube: Tensor, window: int, batch: int, max_pixels: int,
                        shrinkage: float, gen: torch.Generator) -> ResidualMetric:
    """Mean and (shrunk) precision of the residuals of up to ``max_pixels`` random pixels of ``cube``."""
    h, w, _ = cube.shape
    pixels = torch.randperm(h * w, generator=gen)[:max_pixels]
    padded, offsets = pad_cube(cube, window), window_offsets(window)
    model.eval()
    with torch.no_grad():
        res = torch.cat([model.residuals(win) for win in _batches(model, padded, pixels, w, offsets, batch)])
    res = res.double()
    mean = res.mean(dim=0)
    cov = torch.cov(res.T) if res.shape[0] > 1 else torch.eye(res.shape[1], dtype=torch.float64)
    cov = torch.atleast_2d(cov)
    target = torch.eye(cov.shape[0], dtype=torch.float64) * cov.diagonal().mean().clamp_min(1e-12)
    precision = torch.linalg.inv((1 - shrinkage) * cov + shrinkage * target)
    return mean.float(), precision.float()


def fit_model(cfg: DMS2FHADConfig, cube: Tensor) -> tuple[DMS2FHAD, dict[str, Any]]:
    """Train a fresh network on ``cube`` ``(H, W, B)``; returns it (best held-out epoch) and a summary."""
    h, w, n_bands = cube.shape
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg, n_bands)
    order = torch.randperm(h * w, generator=gen)
    n_val = round(cfg.val_fraction * h * w) if h * w >= 20 else 0
    val, train = order[: min(n_val, 4096)], order[n_val:]
    padded, offsets = pad_cube(cube, cfg.window), window_offsets(cfg.window)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    best, best_state, stale, history = float("inf"), None, 0, []
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):  # noqa: B007 - epoch is reported
        model.train()
        picks = train[torch.randint(train.numel(), (min(cfg.train_pixels, train.numel()),), generator=gen)]
        losses = []
        for win in _batches(model, padded, picks, w, offsets, cfg.batch_size):
            loss = model.errors(win).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        monitor = pixel_errors(model, cube, cfg.window, cfg.score_batch, val).mean().item() if val.numel() \
            else float(np.mean(losses))
        history.append(round(monitor, 6))
        if monitor < best - 1e-6:
            best, best_state, stale = monitor, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, {"epochs_run": epoch, "best_heldout_mse": round(best, 6), "heldout_pixels": int(val.numel()),
                   "heldout_history": history}
