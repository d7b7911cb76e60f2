"""Scoring pieces: sessions through the sequence encoder in cached chunks, nearest-memory distances,
robust score scaling, and the k-center memory selection."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.logs.detectors.contralog.model import SequenceEncoder

__all__ = ["Distance", "contrastive_surprisal", "greedy_k_center", "nearest_distance", "novel_scale",
           "repeat_scores", "robust_scale", "run_lengths", "run_stats", "sequence_distances", "sequence_predictions",
           "session_score"]

Distance = Callable[[Tensor, Tensor, Tensor], Tensor]
"""(predictions ``(..., d)``, actual embeddings ``(..., d)``, their coarse ids ``(...)``) → distances ``(...)``."""

EOS_COARSE = -1
"""Coarse id of the end-of-session target."""

MAX_POSITIONS = 8_192  # sessions × positions per sequence-encoder pass (bounds the (P, memory) logits)


def sequence_predictions(
    net: SequenceEncoder, embeddings: Tensor, sessions: list[np.ndarray], chunk: int, end: bool = True,
) -> list[Tensor]:
    """Per session ``(L + end, d)`` predictions of each message from the ones before it (then of ``[EOS]``).

    ``sessions`` hold indices into ``embeddings`` ``(U, d)``; sessions are batched by length and run
    ``chunk`` positions at a time, carrying the attention cache between chunks.
    """
    order = sorted(range(len(sessions)), key=lambda i: len(sessions[i]))
    out: list[Tensor | None] = [None] * len(sessions)
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop + 1 - start) * min(len(sessions[order[stop]]) + 1, chunk) <= MAX_POSITIONS:
            stop += 1
        group, start = order[start:stop], stop
        lengths = torch.tensor([len(sessions[i]) + int(end) for i in group])
        t = int(lengths.max())
        index = torch.full((len(group), t), -1, dtype=torch.long)
        for row, i in enumerate(group):
            index[row, : len(sessions[i])] = torch.from_numpy(sessions[i])
        table = torch.cat([embeddings, net.bos[None]])  # -1 → BOS
        inputs = torch.cat([net.bos.expand(len(group), 1, -1), table[index[:, :-1]]], dim=1)
        cache, parts = net.empty_cache(len(group)), []
        for begin in range(0, t, chunk):
            step = (lengths - begin).clamp(0, chunk)
            predictions, cache = net(inputs[:, begin:begin + chunk], cache, step)
            parts.append(predictions)
        predictions = torch.cat(parts, dim=1)
        for row, i in enumerate(group):
            out[i] = predictions[row, : int(lengths[row])]
    return out  # type: ignore[return-value]


def sequence_distances(
    net: SequenceEncoder, embeddings: Tensor, coarse: Tensor, sessions: list[np.ndarray], chunk: int,
    distance: Distance, backward: SequenceEncoder | None = None,
) -> list[Tensor]:
    """Per session ``(L + 1,)`` distances ``distance(predicted, actual)``: L lines, then the end of session.

    ``sessions`` hold indices into ``embeddings`` ``(U, d)`` (coarse ids ``(U,)``). With ``backward``
    (two-sided context) a line's prediction is the normalised sum of the forward prediction and the
    backward encoder's prediction from the lines after it; the end of session has only the forward one.
    """
    if not sessions:
        return []
    forward = sequence_predictions(net, embeddings, sessions, chunk)
    if backward is not None:
        after = sequence_predictions(backward, embeddings, [s[::-1].copy() for s in sessions], chunk, end=False)
        forward = [torch.cat([F.normalize(f[:-1] + a.flip(0), dim=-1), f[-1:]]) for f, a in zip(forward, after,
                                                                                              strict=True)]
    lengths = [len(s) + 1 for s in sessions]
    eos_index = len(embeddings)
    index = torch.from_numpy(np.concatenate([np.append(s, eos_index) for s in sessions]))
    targets = torch.cat([embeddings, net.eos_target()[None]])[index]
    target_coarse = torch.cat([coarse, torch.tensor([EOS_COARSE])])[index]
    predictions = torch.cat(forward)
    parts = [distance(predictions[i:i + MAX_POSITIONS], targets[i:i + MAX_POSITIONS],
                      target_coarse[i:i + MAX_POSITIONS]) for i in range(0, len(predictions), MAX_POSITIONS)]
    return list(torch.cat(parts).split(lengths))


def nearest_distance(embeddings: Tensor, memory: Tensor, chunk: int = 4096) -> Tensor:
    """``1 - max cos`` of each embedding ``(N, d)`` to the memory ``(M, d)`` (both unit norm) → ``(N,)``."""
    parts = [1.0 - (embeddings[i:i + chunk] @ memory.T).amax(1) for i in range(0, len(embeddings), chunk)]
    return torch.cat(parts) if parts else embeddings.new_zeros(0)


def novel_scale(distances: Tensor, min_count: int = 20, floor: float = 0.1) -> tuple[float, float]:
    """(median, scale) of message-only distances: the scale comes from the lines that are *not* exact
    copies of a memory entry (distance > 0), so it measures how far normal new variants lie; with
    fewer than ``min_count`` such lines there is too little to measure that, and it falls back to
    :func:`robust_scale` with a scale of at least ``floor`` (cosine distance)."""
    novel = distances[distances > 1e-4]
    if len(novel) < min_count:
        return robust_scale(distances, floor)
    median = float(distances.double().median())
    return median, max(float(torch.quantile(novel.double(), 0.99)) - median, 1e-2)


def robust_scale(values: Tensor, floor: float = 1e-2) -> tuple[float, float]:
    """(median, scale) of normal scores: scaled scores put the normal 99th percentile near 1.

    The scale is ``q99 − median``, but at least a third of ``q99.9 − median`` and ``floor``, so a score
    that is almost always 0 (messages seen in training) does not turn tiny distances into huge scores.
    """
    values = values.double()
    median = float(values.median())
    q99, q999 = (float(torch.quantile(values, q)) for q in (0.99, 0.999))
    return median, max(q99 - median, (q999 - median) / 3.0, floor)


def greedy_k_center(points: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """Indices ``(min(k, N),)`` of a greedy k-center cover of unit vectors ``(N, d)`` (cosine distance)."""
    n = len(points)
    if n <= k:
        return torch.arange(n)
    chosen = [int(torch.randint(n, (1,), generator=generator))]
    distance = 1.0 - points @ points[chosen[0]]
    for _ in range(k - 1):
        nxt = int(distance.argmax())
        chosen.append(nxt)
        distance = torch.minimum(distance, 1.0 - points @ points[nxt])
    return torch.tensor(chosen)


def contrastive_surprisal(
    predictions: Tensor, targets: Tensor, target_coarse: Tensor, memory: Tensor, memory_coarse: Tensor,
    temperature: float,
) -> Tensor:
    """``-log`` InfoNCE probability of the actual message (pooled with the normal memory entries of the
    same coarse form) against the actual embedding and the normal memory ``(M, d)``.

    The training objective's own view of a prediction: low when the actual message is among the
    likely ones, even where several messages may follow (a plain distance is high there).
    """
    own = (predictions * targets).sum(-1, keepdim=True) / temperature
    logits = predictions @ memory.T / temperature
    same = memory_coarse == target_coarse.unsqueeze(-1)
    pooled = torch.cat([own, logits.masked_fill(~same, float("-inf"))], dim=-1)
    return torch.logsumexp(torch.cat([own, logits], dim=-1), dim=-1) - torch.logsumexp(pooled, dim=-1)


def run_lengths(coarse: np.ndarray, last: int | None = None, run: int = 0) -> np.ndarray:
    """Per line ``(L,)``: how many consecutive lines up to it (itself included) share its coarse id;
    ``last`` / ``run`` continue a run from lines scored before (streaming)."""
    out = np.zeros(len(coarse), np.int64)
    for i, c in enumerate(coarse.tolist()):
        run = run + 1 if c == last else 1
        last = c
        out[i] = run
    return out


def run_stats(sessions: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Normal repetition per coarse form from training sessions of coarse ids: forms ``(K,)`` int64 and
    (median, scale) ``(K, 2)`` of the longest run of that form in the sessions that hold it (scale =
    ``q99 − median``, at least 1)."""
    longest: dict[int, list[int]] = {}
    for coarse in sessions:
        best: dict[int, int] = {}
        for c, r in zip(coarse.tolist(), run_lengths(coarse).tolist(), strict=True):
            best[c] = max(best.get(c, 0), r)
        for c, r in best.items():
            longest.setdefault(c, []).append(r)
    forms = np.array(sorted(longest), dtype=np.int64)
    stats = np.zeros((len(forms), 2), np.float64)
    for k, c in enumerate(forms.tolist()):
        values = np.asarray(longest[c], np.float64)
        median = float(np.median(values))
        stats[k] = median, max(float(np.quantile(values, 0.99)) - median, 1.0)
    return forms, stats


def repeat_scores(coarse: np.ndarray, runs: np.ndarray, forms: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Per line ``(L,)``: its run length scaled by its form's normal longest run, ``(run − median) / scale``
    (a burst of an ordinary message scores high); ``-inf`` for forms training never saw (the sequence
    score covers those)."""
    out = np.full(len(coarse), -np.inf)
    if len(forms) == 0 or len(coarse) == 0:
        return out
    at = np.clip(np.searchsorted(forms, coarse), 0, len(forms) - 1)
    known = forms[at] == coarse
    out[known] = (runs[known] - stats[at[known], 0]) / stats[at[known], 1]
    return out


def session_score(best: float, second: float, end: float, repeat: float, second_weight: float,
                  repeat_weight: float) -> float:
    """A session's score: its highest line (or end-of-session) score, plus ``second_weight`` times its
    second-highest line score when positive (several anomalous lines), or ``repeat_weight`` times its
    highest repetition score, whichever is larger."""
    score = max(best, end) + second_weight * max(second, 0.0)
    if repeat_weight > 0.0 and np.isfinite(repeat):
        score = max(score, repeat_weight * repeat)
    return score
