"""Attribute encodings: categorical vocabularies with hash buckets, and continuous grids.

Categorical: each attribute keeps the ``max_vocab`` most frequent training values seen at least
``min_count`` times; every other value - a rare training value or one never seen - is hashed
(CRC-32 of its string) into one of ``n_buckets`` shared buckets after the vocabulary. Rare training
values thus teach the buckets how much mass unseen values deserve. Codes lie in ``[0, V + B)``.

Continuous: a value ``x`` becomes ``u = asinh((x - center) / scale)`` (heavy tails compressed, sign
kept), and ``u`` falls into one of ``n_bins`` equal bins over the training range widened by 10 %.
Values beyond the range take the edge bin plus a tail penalty of one nat per bin width.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["CategoricalCodec", "ContinuousGrid"]


def _key(value: object) -> str:
    return value if isinstance(value, str) else str(value)


@dataclass
class CategoricalCodec:
    """Value -> code map of one categorical attribute."""

    vocab: dict[str, int]
    n_buckets: int

    @property
    def size(self) -> int:
        """V + B codes."""
        return len(self.vocab) + self.n_buckets

    @classmethod
    def learn(cls, column: np.ndarray, max_vocab: int, min_count: int, n_buckets: int) -> CategoricalCodec:
        """The vocabulary of a training column ``(n,)``."""
        counts = Counter(_key(v) for v in column)
        frequent = [v for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
        return cls({v: i for i, v in enumerate(frequent[:max_vocab])}, n_buckets)

    def bucket(self, key: str) -> int:
        """The hash bucket code of a value outside the vocabulary."""
        return len(self.vocab) + zlib.crc32(key.encode()) % self.n_buckets

    def encode(self, column: np.ndarray) -> np.ndarray:
        """Codes int64 ``(n,)`` of raw values ``(n,)``."""
        vocab, out = self.vocab, np.empty(len(column), dtype=np.int64)
        for i, value in enumerate(column):
            key = _key(value)
            code = vocab.get(key)
            out[i] = self.bucket(key) if code is None else code
        return out

    def to_array(self) -> np.ndarray:
        """The vocabulary as UTF-8 JSON bytes (uint8), for safetensors."""
        ordered = sorted(self.vocab, key=self.vocab.__getitem__)
        return np.frombuffer(json.dumps(ordered).encode(), dtype=np.uint8).copy()

    @classmethod
    def from_array(cls, array: np.ndarray, n_buckets: int) -> CategoricalCodec:
        """Inverse of :meth:`to_array`."""
        ordered = json.loads(bytes(np.asarray(array, dtype=np.uint8)).decode())
        return cls({v: i for i, v in enumerate(ordered)}, n_buckets)


@dataclass
class ContinuousGrid:
    """Transform and binning of one continuous attribute."""

    center: float
    scale: float
    low: float
    high: float
    n_bins: int

    @property
    def width(self) -> float:
        """Bin width in transformed units."""
        return (self.high - self.low) / self.n_bins

    @classmethod
    def learn(cls, column: np.ndarray, n_bins: int) -> ContinuousGrid:
        """Grid of a training column ``(n,)``."""
        x = np.asarray(column, dtype=np.float64)
        center = float(np.median(x))
        scale = float(np.median(np.abs(x - center))) or float(np.std(x)) or 1.0
        u = np.arcsinh((x - center) / scale)
        low, high = np.quantile(u, [0.0005, 0.9995]) if u.size else (-1.0, 1.0)
        pad = 0.1 * max(high - low, 1e-3)
        return cls(center, scale, float(low - pad), float(high + pad), n_bins)

    def transform(self, column: np.ndarray) -> np.ndarray:
        """``u`` float64 ``(n,)``."""
        return np.arcsinh((np.asarray(column, dtype=np.float64) - self.center) / self.scale)

    def encode(self, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bin index int64 ``(n,)`` and log-density offset ``(n,)`` (−log width − tail penalty)."""
        u = self.transform(column)
        pos = (u - self.low) / self.width
        bins = np.clip(np.floor(pos), 0, self.n_bins - 1).astype(np.int64)
        beyond = np.maximum(pos - self.n_bins, 0.0) + np.maximum(-pos, 0.0)
        return bins, -np.log(self.width) - beyond

    def to_array(self) -> np.ndarray:
        """``[center, scale, low, high, n_bins]`` float64."""
        return np.array([self.center, self.scale, self.low, self.high, self.n_bins], dtype=np.float64)

    @classmethod
    def from_array(cls, array: np.ndarray) -> ContinuousGrid:
        """Inverse of :meth:`to_array`."""
        c, s, lo, hi, n = (float(v) for v in array)
        return cls(c, s, lo, hi, int(n))
