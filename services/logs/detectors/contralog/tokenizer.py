"""Message text → token ids: light header stripping and a byte-level BPE trained on the training text.

The tokenizer is kept as its JSON text, stored with the weights as a ``uint8`` array (no pickle).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["ZERO_MARK", "BpeTokenizer", "coarse_form", "numeric_class", "strip_prefix", "unmark_zero", "zero_digits",
           "zero_marked"]

_NUMERIC_FIELD = re.compile(r"^(?:\S*\d\S*\s+)+")
_VARIABLE_WORD = re.compile(r"[^\s/:=,()\[\]]*\d[^\s/:=,()\[\]]*")
_ALNUM = re.compile(r"[0-9A-Za-z]")
_ZERO_RUNS = re.compile(r"0+")
_ZERO_VALUE = re.compile(r"[-+]?0+(?:\.0+)?")
ZERO_MARK = "z"
_MARKED_ZERO = re.compile(r"(?<![^\s/:=,()\[\]])([-+]?)z(?![^\s/:=,()\[\]])")
PAD = "<pad>"


def strip_prefix(line: str) -> str:
    """Drop leading fields that contain a digit (dates, times, pids, node ids); keep the line if nothing is left."""
    stripped = _NUMERIC_FIELD.sub("", line, count=1)
    return stripped if stripped.strip() else line


def zero_digits(text: str) -> str:
    """In every word that holds a digit, letters and digits → ``0``: ids, addresses, hex values and counts
    keep their shape and length but stop making lines unique."""
    return _VARIABLE_WORD.sub(lambda m: _ALNUM.sub("0", m.group(0)), text)


def numeric_class(text: str) -> str:
    """``zero_digits`` that keeps a coarse numeric class: a number whose value is zero (``0``, ``-0``,
    ``0.00``) becomes ``z`` (sign kept), every other word with a digit is zeroed as usual. Sign and length
    (order of magnitude) already survive zeroing; the zero class now does too, and since ``z`` is not a
    zero it also survives :func:`coarse_form`, so ``size 0`` is a different prediction target from
    ``size 512``. Idempotent under :func:`zero_digits` (``z`` holds no digit)."""

    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        if _ZERO_VALUE.fullmatch(word):
            return (word[0] if word[0] in "+-" else "") + ZERO_MARK
        return _ALNUM.sub("0", word)

    return _VARIABLE_WORD.sub(one, text)


def unmark_zero(text: str) -> str:
    """Inverse of the zero class of :func:`numeric_class` (``z`` → ``0``): for coarse forms."""
    return _MARKED_ZERO.sub(lambda m: m.group(1) + "0", text)


def zero_marked(text: str) -> bool:
    """Whether ``text`` (from :func:`numeric_class`) holds a zero-class number."""
    return _MARKED_ZERO.search(text) is not None


def coarse_form(text: str) -> str:
    """``zero_digits`` with every run of zeros cut to one: messages that differ only in the length of
    their numbers share a coarse form, and count as the same prediction target."""
    return _ZERO_RUNS.sub("0", zero_digits(text))


class BpeTokenizer:
    """Byte-level BPE (HuggingFace ``tokenizers``) with padding id 0 and truncation to ``max_tokens``."""

    def __init__(self, json_text: str, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.max_tokens = max_tokens
        self._tokenizer = Tokenizer.from_str(json_text)
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token=PAD)

    @classmethod
    def train(cls, messages: Sequence[str], vocab_size: int, max_tokens: int) -> BpeTokenizer:
        """Train on ``messages`` (raw text, no template parsing)."""
        from tokenizers import ByteLevelBPETokenizer

        trainer = ByteLevelBPETokenizer()
        trainer.train_from_iterator(list(messages), vocab_size=vocab_size, min_frequency=2,
                                    special_tokens=[PAD], show_progress=False)
        return cls(trainer.to_str(), max_tokens)

    @property
    def vocab_size(self) -> int:
        """Number of token ids."""
        return self._tokenizer.get_vocab_size()

    def encode(self, messages: Sequence[str]) -> np.ndarray:
        """Token ids ``(N, T)`` int64, ``T <= max_tokens``, padded with 0."""
        if not messages:
            return np.zeros((0, 1), np.int64)
        encoded = self._tokenizer.encode_batch(list(messages), add_special_tokens=False)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        return ids if ids.shape[1] else np.zeros((len(messages), 1), np.int64)

    def to_array(self) -> np.ndarray:
        """The tokenizer's JSON as ``uint8`` ``(bytes,)`` for safetensors."""
        text = self._tokenizer.to_str()
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()

    @classmethod
    def from_array(cls, array: np.ndarray, max_tokens: int) -> BpeTokenizer:
        """Inverse of :meth:`to_array`."""
        return cls(bytes(np.asarray(array, dtype=np.uint8)).decode("utf-8"), max_tokens)
