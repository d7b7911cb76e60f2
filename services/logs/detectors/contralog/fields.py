"""Variable fields without a parser: which word slots are open, what kind of value each holds, and how
surprising a line's values are (novelty of kind vs novelty of value, numeric ranges).

A line is split into words; a word's *slot* is the word before it (``<s>`` first), taken literally
when that word is a constant and as its kind when it is itself a variable, so ``install perl:all``
and ``install libfoo:amd64`` share the slot ``install`` and whatever follows a package name shares
the slot of its kind. A word's *kind* is its shape (letters → ``a``, digit runs → ``0``, other
characters kept: ``252.38-1~deb12u1`` → ``0.0-0~a0a0``) and its *class* a coarser shape (leading
character class, then which of letters / digits / punctuation it holds: ``0.+a``).

Per slot, training counts words ``n``, distinct words ``D``, kinds and classes; a new value is
expected with Witten–Bell probability ``D / (n + D)``. A slot is *open* when that is at least
``open_slot``: new package names, hosts, users, paths are ordinary there, and the message encoder
sees such words as their kind (``perl:all`` → ``a:a``), while a new word in a closed slot (a verb,
a status, the first word of an error) stays itself. A word's surprisal adds the novelty of its value
(0 when it is a known value of a closed slot, else ``-log P(new)``), of its kind (0 when the slot
held it, else ``-log P(new kind)`` plus ``-log P(new class)`` when its class is new there too) and
of its magnitude (numbers: orders of magnitude outside the slot's training range, in nats). A
line's field score is its most surprising word. Fitted state is JSON (stored as ``uint8``, no pickle).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FieldModel", "word_class", "word_kind"]

_LETTERS, _DIGITS = re.compile(r"[A-Za-z]+"), re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_START = "<s>"
_MAX_VALUES = 256  # known values kept per closed slot
_MIN_RANGE = 5  # numbers a slot needs before its range counts


def word_kind(word: str) -> str:
    """Shape of a word: letter runs → ``a``, digit runs → ``0``, other characters kept."""
    return _DIGITS.sub("0", _LETTERS.sub("a", word))


def word_class(word: str) -> str:
    """Coarse class: the first character's class, then ``+`` and the classes the word holds."""
    def one(c: str) -> str:
        return "a" if c.isalpha() else "0" if c.isdigit() else c

    held = "".join(sorted({"a" if c.isalpha() else "0" if c.isdigit() else "." for c in word}))
    return f"{one(word[0]) if word else ''}+{held}"


@dataclass
class _Slot:
    n: int = 0
    distinct: int = 0
    values: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    low: float = 0.0
    high: float = 0.0
    numbers: int = 0

    @classmethod
    def of(cls, n: int, words: dict[str, int], open_slot: float) -> _Slot:
        """Statistics of a slot that held ``words`` (value → count, ``n`` in all). Kinds, classes and the
        numeric range are counted over distinct values, so a value repeated on many lines counts once."""
        slot = cls(n, len(words))
        for word in words:
            kind, klass = word_kind(word), word_class(word)
            slot.kinds[kind] = slot.kinds.get(kind, 0) + 1
            slot.classes[klass] = slot.classes.get(klass, 0) + 1
        magnitudes = [math.log10(1.0 + abs(float(w))) for w in words if _NUMBER.fullmatch(w)]
        if magnitudes:
            slot.low, slot.high, slot.numbers = min(magnitudes), max(magnitudes), len(magnitudes)
        if slot.p_new() < open_slot:
            slot.values = dict(sorted(words.items(), key=lambda item: -item[1])[:_MAX_VALUES])
        return slot

    def p_new(self) -> float:
        """Witten–Bell probability that the next word here is a value not seen before."""
        return self.distinct / (self.n + self.distinct) if self.n else 1.0

    def p_new_kind(self) -> float:
        """Probability that a new value has a kind not seen here (over distinct values)."""
        return len(self.kinds) / (self.distinct + len(self.kinds))

    def p_new_class(self) -> float:
        """Probability that a new kind also has a new coarse class."""
        return len(self.classes) / (len(self.kinds) + len(self.classes))


class FieldModel:
    """Slot statistics learned from training messages; see the module docstring."""

    def __init__(self, open_slot: float = 0.1) -> None:
        self.open_slot = open_slot
        self.slots: dict[str, _Slot] = {}

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, messages: Iterable[str]) -> FieldModel:
        """Two passes over messages (header already stripped): slots with literal contexts, then
        with open-slot words as their kind (so what follows a package name shares one slot)."""
        messages = list(messages)
        for _ in range(2):
            counts: dict[str, dict[str, int]] = {}
            totals: dict[str, int] = {}
            for message in messages:
                for slot, word in self._slots(message.split()):
                    words = counts.setdefault(slot, {})
                    words[word] = words.get(word, 0) + 1
                    totals[slot] = totals.get(slot, 0) + 1
            self.slots = {slot: _Slot.of(totals[slot], words, self.open_slot) for slot, words in counts.items()}
        return self

    def _is_open(self, slot: str) -> bool:
        stats = self.slots.get(slot)
        return stats is not None and stats.p_new() >= self.open_slot

    def _slots(self, words: Sequence[str]) -> list[tuple[str, str]]:
        """(slot, word) for each word of a message: the last constant word, and ``+k`` for the ``k``-th
        variable after it."""
        out, anchor, after = [], _START, 0
        for word in words:
            slot = f"{anchor}+{after}" if after else anchor
            out.append((slot, word))
            if any(c.isdigit() for c in word) or self._is_open(slot):
                after += 1
            else:
                anchor, after = word, 0
        return out

    # -- use ----------------------------------------------------------------------------------
    def normalise(self, message: str) -> str:
        """The message with the identifiers of open slots (words holding a letter: names, hosts, paths, ids)
        replaced by their kind (``perl:all`` → ``a:a``, ``blk_-42`` → ``a_-0``); numbers without letters
        are left for the digit normalisation; whitespace runs become one space."""
        return " ".join(word_kind(w) if self._is_open(s) and _LETTERS.search(w) else w
                        for s, w in self._slots(message.split()))

    def skeleton(self, message: str, keep: frozenset[str] = frozenset()) -> str:
        """The message with every variable word (holding a digit, or in an open slot) as ``*``, except the
        words in ``keep``: what is left is the message's constant structure, learned without a parser."""
        return " ".join("*" if w not in keep and (any(c.isdigit() for c in w) or self._is_open(s)) else w
                        for s, w in self._slots(message.split()))

    def surprisal(self, message: str) -> float:
        """The line's field score: the highest word surprisal (nats, ``0`` for an empty message)."""
        best = 0.0
        for slot, word in self._slots(message.split()):
            best = max(best, self._word(self.slots.get(slot), word))
        return best

    def scores(self, messages: Sequence[str]) -> np.ndarray:
        """Field scores ``(N,)`` float64 of messages (each distinct message computed once)."""
        cache: dict[str, float] = {}
        for m in messages:
            if m not in cache:
                cache[m] = self.surprisal(m)
        return np.array([cache[m] for m in messages], np.float64)

    @staticmethod
    def _word(stats: _Slot | None, word: str) -> float:
        if stats is None:
            return 0.0  # a slot after an unknown word: the novelty was counted at that word
        if word in stats.values:
            return 0.0  # a known value of a closed slot
        value = -math.log(max(stats.p_new(), 1e-9))
        kind = 0.0
        if word_kind(word) not in stats.kinds:
            kind = -math.log(stats.p_new_kind())
            if word_class(word) not in stats.classes:
                kind -= math.log(stats.p_new_class())
        size = 0.0
        if stats.numbers >= _MIN_RANGE and _NUMBER.fullmatch(word):
            magnitude = math.log10(1.0 + abs(float(word)))
            size = math.log(10.0) * max(0.0, magnitude - stats.high, stats.low - magnitude)
        return value + kind + size

    # -- persistence ----------------------------------------------------------------------------
    def to_array(self) -> np.ndarray:
        """Fitted state as JSON text in ``uint8`` ``(bytes,)``."""
        state = {"open_slot": self.open_slot,
                 "slots": {k: [s.n, s.distinct, s.values, s.kinds, s.classes, s.low, s.high, s.numbers]
                           for k, s in self.slots.items()}}
        return np.frombuffer(json.dumps(state).encode("utf-8"), dtype=np.uint8).copy()

    @classmethod
    def from_array(cls, array: np.ndarray) -> FieldModel:
        """Inverse of :meth:`to_array`."""
        state = json.loads(bytes(np.asarray(array, dtype=np.uint8)).decode("utf-8"))
        model = cls(state["open_slot"])
        model.slots = {key: _Slot(*values) for key, values in state["slots"].items()}
        return model
