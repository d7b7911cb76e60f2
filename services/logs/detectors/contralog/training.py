"""Self-supervised training: masked message-embedding prediction + InfoNCE against the batch's messages.

With one sequence encoder (``context="next"``) message ``t`` is predicted from the messages before it.
With a second, backward encoder (``context="masked"``) it is predicted from both sides: the forward
encoder reads ``… t-2, t-1``, the backward one ``t+2, t+1 …`` (the session reversed, ``[BOS]``
standing for the session end), and the prediction is their normalised sum, so message ``t`` itself
is hidden from both and the context around it is the surrounding messages, as in masked language
modelling. In both, 15 % of the context messages are further replaced by ``[MASK]``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from services.core.progress import progress
from services.logs.detectors.contralog.config import ContraLogConfig
from services.logs.detectors.contralog.model import SequenceEncoder
from services.logs.detectors.contralog.scoring import EOS_COARSE

__all__ = ["backward_inputs", "batch_inputs", "train"]


def _crops(
    sessions: list[np.ndarray], cfg: ContraLogConfig, rng: np.random.Generator
) -> list[tuple[np.ndarray, int, bool, int]]:
    """(message ids of the crop, previous message id or -1 for [BOS], ends at the session end, next message
    id or -1 for the end)."""
    out = []
    for index in rng.integers(0, len(sessions), cfg.batch_size):
        ids = sessions[int(index)]
        start = int(rng.integers(0, max(1, len(ids) - cfg.crop_len + 1)))
        if rng.random() < 0.3:  # favour session starts and ends a little
            start = 0 if rng.random() < 0.5 else max(0, len(ids) - cfg.crop_len)
        crop = ids[start:start + cfg.crop_len]
        stop = start + len(crop)
        following = int(ids[stop]) if stop < len(ids) else -1
        out.append((crop, int(ids[start - 1]) if start else -1, stop == len(ids), following))
    return out


def backward_inputs(
    net: SequenceEncoder, embeddings: Tensor, crops: list[tuple[np.ndarray, int, bool, int]], length: int,
    mask_rate: float, rng: np.random.Generator | None,
) -> Tensor:
    """Backward encoder inputs ``(B, length, d)`` in reversed order: position ``s`` of row ``b`` holds the
    message after crop message ``n-1-s`` (``[BOS]`` = the session end; ``[MASK]`` at random)."""
    u = len(embeddings)
    bos, mask = u, u + 1
    source = np.full((len(crops), length), bos, np.int64)
    for row, (crop, _, _, following) in enumerate(crops):
        after = [*crop.tolist()[1:], bos if following < 0 else following]  # message after each crop message
        source[row, : len(crop)] = after[::-1]
        if rng is not None and mask_rate > 0:
            hit = (rng.random(len(crop)) < mask_rate) & (source[row, : len(crop)] != bos)
            source[row, : len(crop)][hit] = mask
    table = torch.cat([embeddings, net.bos[None], net.mask[None]])
    return table[torch.from_numpy(source)]


def _unreverse(predictions: Tensor, crops: list[tuple[np.ndarray, int, bool, int]]) -> Tensor:
    """Backward predictions ``(B, T, d)`` (reversed per crop) back in crop order, zero past each crop."""
    out = torch.zeros_like(predictions)
    for row, (crop, _, _, _) in enumerate(crops):
        out[row, : len(crop)] = predictions[row, : len(crop)].flip(0)
    return out


def batch_inputs(
    net: SequenceEncoder, embeddings: Tensor, crops: list[tuple[np.ndarray, int, bool, int]], mask_rate: float,
    rng: np.random.Generator | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Inputs ``(B, T, d)``, target indices ``(B, T)`` into ``[embeddings; EOS]`` (-1 = padding), valid ``(B, T)``.

    ``embeddings`` ``(U, d)`` are the crop messages' embeddings (ids index into it). Inputs are one
    gather from ``[embeddings; BOS; MASK]``, so the backward pass stays a single scatter.
    """
    u = len(embeddings)
    bos, mask = u, u + 1
    length = max(len(c) + int(end) for c, _, end, _ in crops)
    source = np.full((len(crops), length), bos, np.int64)
    targets = np.full((len(crops), length), -1, np.int64)
    for row, (crop, previous, end, _) in enumerate(crops):
        goal = [*crop.tolist(), u] if end else crop.tolist()  # u = EOS among the candidates
        sequence = [bos if previous < 0 else previous, *crop.tolist()][: len(goal)]
        source[row, : len(goal)] = sequence
        targets[row, : len(goal)] = goal
    if rng is not None and mask_rate > 0:
        masked = (rng.random(source.shape) < mask_rate) & (source != bos) & (targets >= 0)
        source[masked] = mask
    table = torch.cat([embeddings, net.bos[None], net.mask[None]])
    targets_t = torch.from_numpy(targets)
    return table[torch.from_numpy(source)], targets_t, targets_t >= 0


def train(
    encode: Callable[[np.ndarray], Tensor], net: SequenceEncoder, params: list[Tensor],
    sessions: list[np.ndarray], coarse: Tensor, cfg: ContraLogConfig, backward: SequenceEncoder | None = None,
) -> float:
    """Train on sessions given as message-id arrays; ``encode(unique ids)`` embeds messages with gradients;
    ``backward`` (its parameters in ``params``) adds the context after each message.

    InfoNCE counts every batch message of the target's coarse form ``coarse`` ``(U,)`` as a positive
    (messages that differ only in number lengths are the same target).

    Returns the mean loss of the last 20 steps.
    """
    rng = np.random.default_rng(cfg.seed)
    optimiser = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, cfg.lr, total_steps=cfg.train_steps, pct_start=0.1)
    losses: list[float] = []
    for _ in progress(cfg.train_steps, "ContraLog training", "step", enabled=cfg.show_progress):
        crops = _crops(sessions, cfg, rng)
        neighbours = np.array([i for _, p, _, n in crops for i in (p, n) if i >= 0], np.int64)
        unique = np.unique(np.concatenate([c for c, _, _, _ in crops] + [neighbours]))
        lookup = dict(zip(unique.tolist(), range(len(unique)), strict=True))
        local = [(np.array([lookup[i] for i in c], np.int64), lookup.get(p, -1), end, lookup.get(n, -1))
                 for c, p, end, n in crops]
        embeddings = encode(unique)
        inputs, targets, valid = batch_inputs(net, embeddings, local, cfg.mask_rate, rng)
        predictions, _ = net(inputs, net.empty_cache(len(crops)))
        if backward is not None:
            reverse = backward_inputs(backward, embeddings, local, inputs.shape[1], cfg.mask_rate, rng)
            after, _ = backward(reverse, backward.empty_cache(len(crops)))
            predictions = torch.nn.functional.normalize(predictions + _unreverse(after, local), dim=-1)
        candidates = torch.cat([embeddings, net.eos_target()[None]])  # (U + 1, d)
        p, y = predictions[valid], targets[valid]
        kinds = torch.cat([coarse[torch.from_numpy(unique)], torch.tensor([EOS_COARSE])])  # (U + 1,)
        logits = p @ candidates.T / cfg.temperature
        positive = kinds[None, :] == kinds[y][:, None]
        contrastive = (logits.logsumexp(-1) - logits.masked_fill(~positive, float("-inf")).logsumexp(-1)).mean()
        distance = (1.0 - (p * candidates[y].detach()).sum(-1)).mean()  # targets fixed: no pull to collapse
        spread = torch.pdist(embeddings).pow(2).mul(-2.0).exp().mean().log() if len(embeddings) > 1 else 0.0
        loss = contrastive + cfg.distance_weight * distance + cfg.uniformity_weight * spread
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses[-20:]))
