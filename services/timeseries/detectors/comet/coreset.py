"""Vector-quantised coreset: greedy k-center memory of normal patch embeddings and the dual score.

Shapes: ``N`` embeddings, ``M`` memory entries, ``K`` codewords, ``d`` embedding width.
The dual score of a patch is ``w * (q - q_med) / q_iqr + (1 - w) * (m - m_med) / m_iqr`` where ``q`` is
its distance to the nearest codeword, ``m`` its distance to the nearest memory entry, and the
medians / inter-quartile ranges come from training (normal) patches.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["dual_score", "greedy_coreset", "nearest_distance", "robust_stats"]


def greedy_coreset(features: Tensor, size: int, generator: torch.Generator) -> Tensor:
    """Indices ``(size,)`` of a greedy k-center coreset of ``features`` ``(N, d)`` (PatchCore style).

    Starts from a random point, then repeatedly adds the point farthest from the chosen set.
    """
    n = features.shape[0]
    if size >= n:
        return torch.arange(n)
    norms = features.pow(2).sum(1)
    chosen = torch.empty(size, dtype=torch.long)
    nxt = int(torch.randint(n, (1,), generator=generator))
    min_dist = torch.full((n,), float("inf"))
    for i in range(size):
        chosen[i] = nxt
        dist = norms - 2.0 * (features @ features[nxt]) + norms[nxt]  # squared distances to the new centre
        min_dist = torch.minimum(min_dist, dist)
        nxt = int(torch.argmax(min_dist))
    return chosen


def nearest_distance(x: Tensor, bank: Tensor, exclude_self: bool = False, chunk: int = 8192) -> Tensor:
    """Euclidean distance ``(N,)`` from each row of ``x`` ``(N, d)`` to its nearest row of ``bank``.

    With ``exclude_self`` an exact match (distance ~0, the point itself in the bank) is skipped and
    the second-nearest distance is used instead, so training statistics are not biased to zero.
    """
    out = []
    k = 2 if exclude_self and bank.shape[0] > 1 else 1
    for start in range(0, x.shape[0], chunk):
        dist = torch.cdist(x[start : start + chunk], bank)
        top = torch.topk(dist, k, dim=1, largest=False).values
        if k == 2:
            out.append(torch.where(top[:, 0] <= 1e-6, top[:, 1], top[:, 0]))
        else:
            out.append(top[:, 0])
    return torch.cat(out) if out else x.new_zeros(0)


def robust_stats(values: Tensor) -> tuple[float, float]:
    """(median, scale) of ``values`` ``(N,)``; the scale is the IQR, floored to stay positive."""
    q25, q50, q75 = torch.quantile(values.double(), torch.tensor([0.25, 0.5, 0.75], dtype=torch.double))
    scale = max(float(q75 - q25), 1e-3 * abs(float(q50)), 1e-6)
    return float(q50), scale


def dual_score(q: Tensor, m: Tensor, stats: Tensor, weight: float) -> Tensor:
    """Combine quantisation error ``q`` and memory distance ``m`` (same shape) into one score.

    ``stats`` is ``(4,)``: ``[q_median, q_scale, m_median, m_scale]`` from training patches.
    """
    qn = (q - stats[0]) / stats[1]
    mn = (m - stats[2]) / stats[3]
    return weight * qn + (1.0 - weight) * mn
