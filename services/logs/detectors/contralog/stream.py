"""Streaming ContraLog: many interleaved sessions in one state of named arrays, scored in one pass.

State (``S`` open sessions): ``keys`` ``(S,)`` int64 (hashed session keys), ``prev`` ``(S, d)`` the
last message embedding, ``count`` ``(S,)`` lines seen, ``best`` / ``second`` ``(S,)`` the two highest
line scores so far, ``last`` ``(S,)`` the last line's coarse id, ``run`` ``(S,)`` its run length and
``repeat`` ``(S,)`` the highest repetition score so far, and the sequence encoder's attention cache
``cache_k`` / ``cache_v`` ``(S, L, H, C, dh)`` and
``cache_valid`` ``(S, C)``. Lines of a session get exactly the scores a batch pass over the whole
session gives (up to float rounding).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import torch

from services.core.contract import StreamState
from services.core.errors import InvalidInputError
from services.logs.detectors.contralog.model import SequenceEncoder
from services.logs.detectors.contralog.scoring import EOS_COARSE, nearest_distance, run_lengths

if TYPE_CHECKING:
    from services.logs.detectors.contralog.detector import ContraLogDetector

__all__ = ["check_points", "empty_state", "key_hash", "step"]


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a session key."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def empty_state(net: SequenceEncoder, d: int) -> StreamState:
    """The state of a stream with no open session."""
    k, v, valid = (x.numpy() for x in net.empty_cache(0))
    return {"keys": np.zeros(0, np.int64), "prev": np.zeros((0, d), np.float32), "count": np.zeros(0, np.int64),
            "best": np.zeros(0, np.float32), "second": np.zeros(0, np.float32), "last": np.zeros(0, np.int64),
            "run": np.zeros(0, np.int64), "repeat": np.zeros(0, np.float32), "cache_k": k, "cache_v": v,
            "cache_valid": valid}


def check_points(points: np.ndarray) -> np.ndarray:
    """Rows ``(k, 2)`` of (key, line) as str; InvalidInputError otherwise."""
    array = np.asarray(points, dtype=object)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InvalidInputError(f"stream points must be (k, 2) rows of (session key, line), got shape {array.shape}")
    return np.array([[str(key), str(line)] for key, line in array], dtype=object).reshape(-1, 2)


def _rounds(hashes: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Round of each row: a key's rows after its close (a reopened session) go to the next round."""
    closes: dict[int, int] = {}
    out = np.zeros(len(hashes), np.int64)
    for i, (h, line) in enumerate(zip(hashes.tolist(), lines, strict=True)):
        out[i] = closes.get(h, 0)
        if not line:
            closes[h] = closes.get(h, 0) + 1
    return out


def step(det: ContraLogDetector, points: np.ndarray, state: StreamState) -> tuple[np.ndarray, StreamState]:
    """Score rows of (key, line); empty lines close their session (score = the session's score)."""
    scores = np.full(len(points), np.nan, np.float32)
    hashes = np.array([key_hash(k) for k in points[:, 0]], np.int64)
    lines = points[:, 1]
    line_rows = np.flatnonzero(lines != "")
    texts, ids = det._index([list(lines[line_rows])])
    with torch.no_grad():
        embeddings = det._embed(texts)
        coarse = det._coarse(texts)
        message = nearest_distance(embeddings, det.memory_).numpy().astype(np.float64)
    row_message = dict(zip(line_rows.tolist(), ids[0].tolist(), strict=True))
    state = {k: v.copy() for k, v in state.items()}
    rounds = _rounds(hashes, lines)
    for r in range(int(rounds.max()) + 1 if len(rounds) else 0):
        rows = np.flatnonzero(rounds == r)
        state = _round(det, rows, hashes, row_message, (embeddings, coarse, message, lines), state, scores)
    return scores, state


def _round(det, rows, hashes, row_message, messages, state, scores):  # type: ignore[no-untyped-def]
    """One pass over sessions with at most one close each (a close comes after their lines).

    ``messages`` = (embeddings ``(U, d)``, coarse ids ``(U,)``, message-only distances ``(U,)``, raw lines
    ``(k,)`` of all rows).
    """
    net, (embeddings, coarse, message, raw) = det.net_, messages
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for row in rows.tolist():
        lines_of, closes_of = groups.setdefault(int(hashes[row]), ([], []))
        (lines_of if row in row_message else closes_of).append(row)
    slot_of = {int(h): i for i, h in enumerate(state["keys"].tolist())}
    new = [h for h in groups if h not in slot_of]
    if new:
        state = _append(state, net, new)
        slot_of = {int(h): i for i, h in enumerate(state["keys"].tolist())}
    keys = list(groups)
    slots = torch.tensor([slot_of[h] for h in keys], dtype=torch.long)
    lengths = torch.tensor([len(groups[h][0]) + bool(groups[h][1]) for h in keys])
    t, d = int(lengths.max()), embeddings.shape[1]
    inputs = torch.zeros(len(keys), t, d)
    for j, h in enumerate(keys):
        slot, line_rows = int(slots[j]), groups[h][0]
        first = net.bos.detach() if state["count"][slot] == 0 else torch.from_numpy(state["prev"][slot])
        sequence = [first, *(embeddings[row_message[r]] for r in line_rows)]
        inputs[j, : int(lengths[j])] = torch.stack(sequence[: int(lengths[j])])
    cache = tuple(torch.from_numpy(state[name][slots.numpy()]) for name in ("cache_k", "cache_v", "cache_valid"))
    with torch.no_grad():
        predictions, new_cache = net(inputs, cache, lengths)
        eos = net.eos_target()
    closed = []
    for j, h in enumerate(keys):
        slot, line_rows, close_rows = int(slots[j]), groups[h][0], groups[h][1]
        if line_rows:
            index = [row_message[r] for r in line_rows]
            targets = embeddings[index]
            seq = det.distance(predictions[j, : len(line_rows)], targets, coarse[index]).numpy().astype(np.float64)
            line = det.combine(seq, message[[row_message[r] for r in line_rows]],
                               det.field_scores([str(raw[r]) for r in line_rows]))
            scores[line_rows] = line
            top = sorted([float(state["best"][slot]), float(state["second"][slot]), *line.tolist()])[::-1]
            state["best"][slot], state["second"][slot] = top[0], top[1]
            ids = coarse[index].numpy()
            runs = run_lengths(ids, int(state["last"][slot]) if state["count"][slot] else None, int(state["run"][slot]))
            state["repeat"][slot] = max(float(state["repeat"][slot]), float(det.repeat_score(ids, runs).max()))
            state["last"][slot], state["run"][slot] = int(ids[-1]), int(runs[-1])
            state["prev"][slot] = targets[-1].numpy()
            state["count"][slot] += len(line_rows)
        if close_rows:
            end = det.end_score(float(det.distance(predictions[j, len(line_rows)], eos, torch.tensor(EOS_COARSE))))
            scores[close_rows[0]] = det.session_score(float(state["best"][slot]), float(state["second"][slot]), end,
                                                      float(state["repeat"][slot]))
            closed.append(slot)
    for name, value in zip(("cache_k", "cache_v", "cache_valid"), new_cache, strict=True):
        state[name][slots.numpy()] = value.numpy()
    if closed:
        keep = np.ones(len(state["keys"]), bool)
        keep[closed] = False
        state = {k: v[keep] for k, v in state.items()}
    return state


def _append(state: StreamState, net: SequenceEncoder, hashes: list[int]) -> StreamState:
    n = len(hashes)
    k, v, valid = (x.numpy() for x in net.empty_cache(n))
    extra = {"keys": np.array(hashes, np.int64), "prev": np.zeros((n, state["prev"].shape[1]), np.float32),
             "count": np.zeros(n, np.int64), "best": np.full(n, -np.inf, np.float32),
             "second": np.full(n, -np.inf, np.float32), "last": np.zeros(n, np.int64), "run": np.zeros(n, np.int64),
             "repeat": np.full(n, -np.inf, np.float32),
             "cache_k": k, "cache_v": v, "cache_valid": valid}
    return {name: np.concatenate([state[name], extra[name]]) for name in state}
