"""CLIP's byte-level BPE tokenizer, reading a local merges file (nothing is downloaded).

The file is OpenCLIP's ``bpe_simple_vocab_16e6.txt.gz`` (or the same text uncompressed, or a Hugging Face
``merges.txt``): a ``#version`` header line, then one merge ``"a b"`` per line in rank order. The vocabulary is
built as CLIP builds it: the 256 byte symbols, the same with ``</w>``, one entry per merge, then
``<|startoftext|>`` and ``<|endoftext|>`` (so the end-of-text token has the largest id, which the text tower's
``argmax`` relies on). Text cleaning is CLIP's minus ``ftfy`` (HTML unescape, whitespace, lower case).
"""

from __future__ import annotations

import gzip
import html
import itertools
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

try:  # CLIP's pattern uses Unicode classes; ``regex`` is optional, ``re`` approximates them closely
    import regex as _re

    _PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
except ImportError:  # pragma: no cover - depends on the environment
    import re as _re

    _PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+"""

__all__ = ["TOKENIZER_FILES", "ClipTokenizer", "TokenizerError", "find_tokenizer_file"]

TOKENIZER_FILES = ("bpe_simple_vocab_16e6.txt.gz", "bpe_simple_vocab_16e6.txt", "merges.txt")
"""File names looked for next to the checkpoint, in this order."""

MAX_MERGES = 49152 - 256 - 2
SOT, EOT = "<|startoftext|>", "<|endoftext|>"


class TokenizerError(ValueError):
    """The merges file is missing or malformed (the message names the file)."""


@cache
def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable unicode character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = printable[:], 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars), strict=True))


def find_tokenizer_file(checkpoint: str | Path) -> Path | None:
    """The first of :data:`TOKENIZER_FILES` in the checkpoint's folder, or None."""
    folder = Path(checkpoint).parent
    return next((folder / name for name in TOKENIZER_FILES if (folder / name).is_file()), None)


class ClipTokenizer:
    """Text -> token ids ``(T, context_length)`` (start token, BPE ids, end token, zero padding)."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"tokenizer merges file {path} does not exist")
        raw = path.read_bytes()
        try:
            text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TokenizerError(f"cannot read tokenizer merges file {path}: {error}") from error
        lines = text.split("\n")
        if lines and lines[0].startswith("#"):
            lines = lines[1:]
        merges = [tuple(line.split()) for line in lines[:MAX_MERGES] if line.strip()]
        if any(len(m) != 2 for m in merges):
            raise TokenizerError(f"{path} is not a BPE merges file (expected lines 'a b')")
        byte_chars = list(bytes_to_unicode().values())
        vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges] + [SOT, EOT]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {merge: i for i, merge in enumerate(merges)}
        self.path = path
        self._pattern = _re.compile(_PATTERN, _re.IGNORECASE)
        self._cache: dict[str, list[str]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    @property
    def sot(self) -> int:
        return self.encoder[SOT]

    @property
    def eot(self) -> int:
        return self.encoder[EOT]

    def _bpe(self, token: str) -> list[str]:
        if token in self._cache:
            return self._cache[token]
        word = [*token[:-1], token[-1] + "</w>"]
        while len(word) > 1:
            pairs = set(itertools.pairwise(word))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[token] = word
        return word

    def encode(self, text: str) -> list[int]:
        """BPE ids of ``text`` (no start / end tokens)."""
        table = bytes_to_unicode()
        text = " ".join(html.unescape(html.unescape(text)).split()).lower()
        ids: list[int] = []
        for piece in self._pattern.findall(text):
            token = "".join(table[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self._bpe(token))
        return ids

    def __call__(self, texts: list[str], context_length: int = 77) -> Tensor:
        """Token ids ``(len(texts), context_length)`` (int64); too long texts are cut, keeping the end token."""
        out = torch.zeros(len(texts), context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [*[self.sot, *self.encode(text)][: context_length - 1], self.eot]
            out[row, : len(ids)] = torch.tensor(ids)
        return out
