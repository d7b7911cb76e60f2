"""Temporal node channels: how each node's current neighbourhood relates to the previous time window.

The request carries the current window's edges and, as history, the edges of earlier windows with
their times (the same node ids). Every history edge gets a time encoding ``w = exp(-age / window)``,
``age`` measured back from the start of the current window, so recent history counts most. Per node:

- persistence: ``sum_{u in N_now(v)} w(u, v) / |N_now(v)|``, the time-weighted share of current
  neighbours that were neighbours before (≈ 0 for a node whose edges were all replaced);
- degree change: ``log(1 + |N_now(v)|) - log(1 + sum_{u in N_before(v)} w(u, v))``.

Both are appended to the node inputs, so the GNN's message passing also reads the neighbours' values.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from services.graph.detectors.ego_diffusion.features import degree

__all__ = ["temporal_channels"]


def temporal_channels(edge_index: np.ndarray, start: np.ndarray, history_index: np.ndarray,
                      history_time: np.ndarray, window: float) -> Tensor:
    """Persistence and degree change ``(N, 2)`` float32 from current ``(2, E)`` and history ``(2, H)`` edges;
    ``start`` ``(N,)``: the start of each node's current window (ages are measured back from it)."""
    num_nodes = start.shape[0]
    age = np.clip(start[history_index[1]] - history_time, 0.0, None) if history_index.size else history_time
    weights = np.exp(-age / window)  # the time encoding of each history edge, in (0, 1]
    carried = np.zeros(edge_index.shape[1])
    if history_index.size and edge_index.size:
        history_key = history_index[0] * num_nodes + history_index[1]
        order = np.argsort(history_key)
        key = edge_index[0] * num_nodes + edge_index[1]
        at = np.clip(np.searchsorted(history_key[order], key), 0, history_key.size - 1)
        found = history_key[order][at] == key
        carried[found] = weights[order][at][found]
    current = torch.from_numpy(edge_index)
    now = degree(current, num_nodes)
    persistence = torch.zeros(num_nodes, dtype=torch.float64).index_add_(0, current[1], torch.from_numpy(carried))
    before = torch.zeros(num_nodes, dtype=torch.float64).index_add_(
        0, torch.from_numpy(history_index[1]), torch.from_numpy(weights))
    return torch.stack([persistence.float() / now.clamp_min(1.0),
                        torch.log1p(now) - torch.log1p(before.float())], dim=1)
