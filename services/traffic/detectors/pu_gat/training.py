"""Training loops of PU-GAT+ (Gaussian NLL) and the residual flow (maximum likelihood)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["train_flow", "train_forecaster"]


def train_forecaster(model: Any, norm: np.ndarray, starts: np.ndarray, mask: np.ndarray, config: Any) -> float:
    """Adam on random windows; ``norm`` ``(T, N, F)`` normalized readings; returns the last 50 steps' mean loss."""
    import torch

    rng = np.random.default_rng(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    mask_t = torch.from_numpy(mask)
    lags = config.lags
    lags_index = np.arange(lags)
    losses = []
    model.train()
    for _ in range(config.train_steps):
        pick = starts[rng.integers(0, starts.size, size=min(config.batch_size, starts.size))]
        index = np.clip(pick[:, None] - lags + lags_index[None], 0, None)
        out = model(torch.from_numpy(norm[index]), mask_t)
        loss = model.loss(out, torch.from_numpy(norm[pick]))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return float(np.mean(losses[-50:]))


def train_flow(flow: Any, vectors: np.ndarray, config: Any, batch: int = 512) -> float:
    """Fit the residual flow on ``vectors`` ``(M, D)``; returns the final mean NLL on all of them."""
    import torch

    rng = np.random.default_rng(config.seed + 1)
    data = torch.from_numpy(vectors.astype(np.float32))
    flow.loc.copy_(data.mean(0))
    flow.scale.copy_(data.std(0).clamp_min(1e-3))
    optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)
    flow.train()
    for _ in range(config.flow_steps):
        pick = torch.from_numpy(rng.integers(0, len(data), size=min(batch, len(data))))
        loss = flow.nll(data[pick]).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 5.0)
        optimizer.step()
    flow.eval()
    with torch.no_grad():
        return float(flow.nll(data).mean())
