"""ContraLog detector glue: fit, batch scoring with per-line evidence, streaming and persistence.

Input: a 1-D array ``(n,)`` of sessions, each the session's raw log lines joined by ``\\n`` (str or
UTF-8 bytes; blank lines are ignored). ``score`` gives float32 ``(n,)`` session scores (the highest
line or end-of-session score plus a share of the second-highest line score, or the repetition score
of the longest run of one message against its normal longest run, whichever is larger); ``explain``
gives per-line scores float32 ``(n, max_lines)`` padded with NaN. A line's score combines the
sequence score (distance between the embedding predicted from the preceding messages and the actual
one) and the message-only score (distance to the nearest normal training message), each scaled so
the normal 99th percentile is 1.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from services.core.contract import Detector, InputSpec, StreamState
from services.core.errors import InvalidInputError
from services.logs.detectors.contralog import stream
from services.logs.detectors.contralog.config import ContraLogConfig
from services.logs.detectors.contralog.fields import FieldModel
from services.logs.detectors.contralog.model import MessageEncoder, ProjectionEncoder, SequenceEncoder
from services.logs.detectors.contralog.scoring import (
    contrastive_surprisal,
    greedy_k_center,
    nearest_distance,
    novel_scale,
    repeat_scores,
    robust_scale,
    run_lengths,
    run_stats,
    sequence_distances,
    session_score,
)
from services.logs.detectors.contralog.tokenizer import (
    ZERO_MARK,
    BpeTokenizer,
    coarse_form,
    numeric_class,
    strip_prefix,
    unmark_zero,
    zero_digits,
    zero_marked,
)
from services.logs.detectors.contralog.training import train
from services.logs.text import session_lines

__all__ = ["ContraLogConfig", "ContraLogDetector"]

MEMORY_POOL = 20_000
FIELD_SCALE_FLOOR = 1.0  # nats: a field score must pass the normal median by a factor e per unit
ZERO_WORDS = frozenset({ZERO_MARK, f"-{ZERO_MARK}", f"+{ZERO_MARK}"})


class ContraLogDetector(Detector):
    """Parser-free log anomaly detection by predicting continuous message embeddings (ContraLog)."""

    name = "contralog"
    modality = "logs"
    Config = ContraLogConfig
    config: ContraLogConfig

    def __init__(self, config: ContraLogConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.tokenizer_: BpeTokenizer | None = None
        self.encoder_: nn.Module | None = None
        self.net_: SequenceEncoder | None = None
        self.backward_: SequenceEncoder | None = None  # context="masked": the encoder of the lines after
        self.memory_: Tensor | None = None
        self.memory_coarse_: Tensor | None = None
        self.zero_forms_: set[int] = set()
        self.repeat_forms_ = np.zeros(0, np.int64)  # coarse ids (sorted) with their normal longest run:
        self.repeat_stats_ = np.zeros((0, 2), np.float64)  # (median, scale) per form
        self.fields_: FieldModel | None = None
        self.scales_ = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])  # (median, scale) of sequence, message, field

    # -- input ------------------------------------------------------------------------------
    def input_spec(self) -> InputSpec:
        return InputSpec(dtype="uint8", shape=[-1], description=(
            "Sessions (n,): each the UTF-8 text of one session's raw log lines joined by '\\n'. "
            "Scores are per session (n,); explain gives per-line scores (n, max_lines), NaN-padded."))

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        array = np.asarray(batch, dtype=object)
        if array.ndim != 1 or len(array) == 0:
            raise InvalidInputError(f"expected a 1-D batch of sessions (n,) with n >= 1, got shape {array.shape}")
        out = np.empty(len(array), dtype=object)
        for i, session in enumerate(array):
            if isinstance(session, bytes | np.bytes_):
                session = bytes(session).decode("utf-8", errors="replace")
            if not isinstance(session, str):
                raise InvalidInputError(f"session {i} is a {type(session).__name__}; expected text")
            if not session.strip():
                raise InvalidInputError(f"session {i} has no non-blank lines")
            out[i] = str(session)
        return out

    # -- messages → embeddings ------------------------------------------------------------------
    def _stripped(self, lines: list[str]) -> list[str]:
        return [strip_prefix(line) for line in lines] if self.config.strip_numeric_prefix else list(lines)

    def _messages(self, lines: list[str]) -> list[str]:
        out = self._stripped(lines)
        if self.fields_ is not None:
            out = [self.fields_.normalise(m) for m in out]
        if self.config.digits == "class":
            return [self._zero_class(numeric_class(m)) for m in out]
        return [zero_digits(m) for m in out] if self.config.digits == "zero" else out

    def _zero_class(self, text: str) -> str:
        """Keep a zero-class number (``z``) only in messages whose training text never held a zero there
        (``zero_forms_``): there ``size 0`` is a new prediction target; elsewhere a zero is an ordinary value
        (a flag, a status) and the text is zeroed as usual."""
        if not zero_marked(text):
            return text
        plain = unmark_zero(text)
        return plain if stream.key_hash(coarse_form(plain)) in self.zero_forms_ else text

    def _index(self, sessions: list[list[str]]) -> tuple[list[str], list[np.ndarray]]:
        """Unique message texts and, per session, each line's index into them (hash dedupe)."""
        lookup: dict[str, int] = {}
        ids = [np.array([lookup.setdefault(m, len(lookup)) for m in self._messages(lines)], np.int64)
               for lines in sessions]
        return list(lookup), ids

    def _coarse(self, texts: list[str]) -> Tensor:
        """Coarse-form ids ``(U,)`` int64 of unique messages (same id = same prediction target): with a field
        model, the message's skeleton (variable words as ``*``, a zero-class number kept), else its
        :func:`coarse_form`."""
        if self.fields_ is not None and self.config.targets == "skeleton":
            return torch.tensor([stream.key_hash(self.fields_.skeleton(t, ZERO_WORDS)) for t in texts],
                                dtype=torch.long)
        return torch.tensor([stream.key_hash(coarse_form(t)) for t in texts], dtype=torch.long)

    def _features(self, texts: list[str]) -> Tensor:
        texts = [unmark_zero(t) for t in texts] if self.config.digits == "class" else texts
        if self.config.message_encoder == "minilm":
            from services.logs.detectors.contralog.minilm import minilm_features

            return torch.from_numpy(minilm_features(texts))
        return torch.from_numpy(self.tokenizer_.encode(texts))

    def _embed(self, texts: list[str]) -> Tensor:
        """Unit-norm embeddings ``(U, d)`` of unique messages, in length-sorted batches."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.zeros(len(texts), self.config.d_model)
        step = self.config.encode_batch
        for start in range(0, len(order), step):
            index = order[start:start + step]
            out[index] = self.encoder_(self._features([texts[i] for i in index]))
        return out

    def _build(self, vocab_size: int) -> None:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            if cfg.message_encoder == "minilm":
                from services.logs.detectors.contralog.minilm import FEATURES

                self.encoder_ = ProjectionEncoder(FEATURES, cfg.d_model)
            else:
                self.encoder_ = MessageEncoder(vocab_size, cfg.d_model, cfg.max_tokens, cfg.message_layers,
                                               cfg.n_heads)
            self.net_ = SequenceEncoder(cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.window)
            self.backward_ = None
            if cfg.context == "masked":
                self.backward_ = SequenceEncoder(cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.window).eval()
        self.encoder_.eval()
        self.net_.eval()

    # -- fit ----------------------------------------------------------------------------------
    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        cfg = self.config
        sessions = [session_lines(s) for s in data]
        n_stats = int(len(sessions) * cfg.stats_fraction) if len(sessions) >= 20 else 0
        fit_part = sessions[: len(sessions) - n_stats]
        self.zero_forms_, self.fields_ = set(), None
        if cfg.fields:
            self.fields_ = FieldModel(cfg.open_slot).fit(m for lines in fit_part for m in self._stripped(lines))
        texts, ids = self._index(fit_part)
        if cfg.digits == "class":
            self.zero_forms_ = {stream.key_hash(coarse_form(unmark_zero(t))) for t in texts if zero_marked(t)}
            if self.zero_forms_:
                texts, ids = self._index(fit_part)
        if cfg.message_encoder == "bpe":
            plain = [unmark_zero(t) for t in texts] if cfg.digits == "class" else texts
            self.tokenizer_ = BpeTokenizer.train(plain, cfg.vocab_size, cfg.max_tokens)
        self._build(self.tokenizer_.vocab_size if self.tokenizer_ else 0)
        features = self._features(texts)

        def encode(unique: np.ndarray) -> Tensor:
            x = features[torch.from_numpy(unique)]
            if cfg.message_encoder == "bpe":
                x = x[:, : max(1, int((x != 0).sum(1).max()))]
            return self.encoder_(x)

        self.encoder_.train()
        self.net_.train()
        coarse = self._coarse(texts)
        self.repeat_forms_, self.repeat_stats_ = run_stats([coarse.numpy()[i] for i in ids])
        nets = [self.net_] if self.backward_ is None else [self.net_, self.backward_]
        params = [*self.encoder_.parameters(), *(p for net in nets for p in net.parameters())]
        for net in nets:
            net.train()
        loss = train(encode, self.net_, params, ids, coarse, cfg, self.backward_)
        self.encoder_.eval()
        for net in nets:
            net.eval()
        with torch.no_grad():
            embeddings = self._embed(texts)
            generator = torch.Generator().manual_seed(cfg.seed)
            picked = torch.randperm(len(embeddings), generator=generator)[:MEMORY_POOL]
            chosen = picked[greedy_k_center(embeddings[picked], cfg.memory_size, generator)]
            self.memory_, self.memory_coarse_ = embeddings[chosen].clone(), coarse[chosen].clone()
        held_out = sessions[len(fit_part):] or fit_part
        seq, msg, _ = self._raw_distances(held_out)
        field = torch.from_numpy(np.concatenate([self.field_scores(lines) for lines in held_out]))
        self.scales_ = np.array([*robust_scale(torch.cat(seq)), *novel_scale(torch.cat(msg)),
                                *robust_scale(field, FIELD_SCALE_FLOOR)])
        return {
            "n_sessions": len(sessions), "n_lines": int(sum(len(s) for s in sessions)),
            "unique_messages": len(texts), "stats_sessions": n_stats, "final_loss": round(loss, 5),
            "vocab_size": self.tokenizer_.vocab_size if self.tokenizer_ else 0,
            "memory_size": len(self.memory_),
        }

    # -- scoring --------------------------------------------------------------------------------
    def _raw_distances(self, sessions: list[list[str]]) -> tuple[list[Tensor], list[Tensor], list[np.ndarray]]:
        """Per session: sequence distances ``(L + 1,)`` (last = end of session), message distances ``(L,)``,
        coarse ids ``(L,)``."""
        texts, ids = self._index(sessions)
        coarse = self._coarse(texts)
        with torch.no_grad():
            embeddings = self._embed(texts)
            message = nearest_distance(embeddings, self.memory_)
            sequence = sequence_distances(self.net_, embeddings, coarse, ids, self.config.chunk_lines, self.distance,
                                          self.backward_)
        return sequence, [message[torch.from_numpy(i)] for i in ids], [coarse.numpy()[i] for i in ids]

    def distance(self, predictions: Tensor, targets: Tensor, target_coarse: Tensor) -> Tensor:
        """Sequence distance of predictions to actual embeddings (``(..., d)`` each, coarse ids ``(...)``)."""
        if self.config.sequence_score == "cosine":
            return 1.0 - (predictions * targets).sum(-1)
        return contrastive_surprisal(predictions, targets, target_coarse, self.memory_, self.memory_coarse_,
                                     self.config.temperature)

    def field_scores(self, lines: list[str]) -> np.ndarray:
        """Raw field scores ``(L,)`` of raw lines (zeros without a field model)."""
        if self.fields_ is None:
            return np.zeros(len(lines))
        return self.fields_.scores(self._stripped(lines))

    def combine(self, sequence: np.ndarray, message: np.ndarray, field: np.ndarray) -> np.ndarray:
        """Line scores from raw sequence, message and field scores (same shape); see ``score_mode``."""
        m0, s0, m1, s1, m2, s2 = self.scales_
        z_seq, z_msg = (sequence - m0) / s0, (message - m1) / s1
        mode = self.config.score_mode
        if mode == "sequence":
            return z_seq
        if mode == "message":
            return z_msg
        out = np.maximum(z_seq, self.config.message_weight * z_msg)
        if self.fields_ is not None and self.config.field_weight > 0:
            out = np.maximum(out, self.config.field_weight * (field - m2) / s2)
        return out

    def repeat_score(self, coarse: np.ndarray, runs: np.ndarray) -> np.ndarray:
        """Per line ``(L,)`` repetition scores (see :func:`repeat_scores`)."""
        return repeat_scores(coarse, runs, self.repeat_forms_, self.repeat_stats_)

    def session_score(self, best: float, second: float, end: float, repeat: float) -> float:
        """A session's score from its top two line scores, end score and top repetition score."""
        return session_score(best, second, end, repeat, self.config.second_weight, self.config.repeat_weight)

    def end_score(self, sequence: float) -> float:
        """The end-of-session score from its raw sequence distance (-inf in 'message' mode)."""
        if self.config.score_mode == "message":
            return float("-inf")
        return (sequence - self.scales_[0]) / self.scales_[1]

    def _line_scores(self, batch: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        raw = [session_lines(s) for s in batch]
        sequence, message, coarse = self._raw_distances(raw)
        lines, sessions = [], []
        for seq, msg, ids, text in zip(sequence, message, coarse, raw, strict=True):
            line = self.combine(seq[:-1].numpy().astype(np.float64), msg.numpy().astype(np.float64),
                                self.field_scores(text))
            lines.append(line.astype(np.float32))
            top = np.sort(line)[::-1]
            repeat = self.repeat_score(ids, run_lengths(ids))
            sessions.append(self.session_score(float(top[0]), float(top[1]) if len(top) > 1 else -np.inf,
                                               self.end_score(float(seq[-1])), float(repeat.max())))
        return lines, np.asarray(sessions, dtype=np.float32)

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return self._line_scores(batch)[1]

    def score_and_explain(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Session scores ``(n,)`` and per-line scores ``(n, max_lines)`` float32, NaN-padded."""
        self._check_fitted()
        lines, scores = self._line_scores(self.validate_input(batch))
        out = np.full((len(lines), max(len(x) for x in lines)), np.nan, dtype=np.float32)
        for row, line in enumerate(lines):
            out[row, : len(line)] = line
        return scores, out

    def explain(self, batch: np.ndarray) -> np.ndarray:
        return self.score_and_explain(batch)[1]

    def score_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Score several batches in one fused pass (what Ray's dynamic batching calls)."""
        self._check_fitted()
        checked = [self.validate_input(b) for b in batches]
        scores = self._score(np.concatenate(checked))
        bounds = np.cumsum([0, *(len(b) for b in checked)])
        return [scores[a:b] for a, b in itertools.pairwise(bounds)]

    # -- streaming ------------------------------------------------------------------------------
    def initial_stream_state(self) -> StreamState:
        self._check_fitted()
        if self.backward_ is not None:
            raise InvalidInputError("this model predicts each line from both sides (context='masked'), so it needs "
                                    "whole sessions: use Detect, or a model fitted with context='next' for streams")
        return stream.empty_state(self.net_, self.config.d_model)

    def stream_step(self, points: np.ndarray, state: StreamState, adapt: bool) -> tuple[np.ndarray, StreamState]:
        """Rows ``(k, 2)`` of (session key, line); an empty line closes that session.

        Returns ``(k,)`` float32: each line's score, and for a close row the session's score.
        """
        self._check_fitted()
        return stream.step(self, stream.check_points(points), state)

    # -- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        state = {f"encoder.{k}": v.detach().numpy().copy() for k, v in self.encoder_.state_dict().items()}
        state.update({f"net.{k}": v.detach().numpy().copy() for k, v in self.net_.state_dict().items()})
        if self.backward_ is not None:
            state.update({f"backward.{k}": v.detach().numpy().copy() for k, v in self.backward_.state_dict().items()})
        state.update(memory=self.memory_.numpy().copy(), memory_coarse=self.memory_coarse_.numpy().copy(),
                     scales=self.scales_.astype(np.float64),
                     zero_forms=np.array(sorted(self.zero_forms_), dtype=np.int64),
                     repeat_forms=self.repeat_forms_.astype(np.int64),
                     repeat_stats=self.repeat_stats_.astype(np.float64))
        if self.tokenizer_ is not None:
            state["tokenizer_json"] = self.tokenizer_.to_array()
        if self.fields_ is not None:
            state["fields_json"] = self.fields_.to_array()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if "tokenizer_json" in state:
            self.tokenizer_ = BpeTokenizer.from_array(state["tokenizer_json"], self.config.max_tokens)
        self._build(self.tokenizer_.vocab_size if self.tokenizer_ else 0)
        modules = [("encoder.", self.encoder_), ("net.", self.net_)]
        if self.backward_ is not None:
            modules.append(("backward.", self.backward_))
        for prefix, module in modules:
            module.load_state_dict({k[len(prefix):]: torch.from_numpy(v.copy()) for k, v in state.items()
                                    if k.startswith(prefix)})
        self.memory_ = torch.from_numpy(state["memory"].copy())
        self.memory_coarse_ = torch.from_numpy(state["memory_coarse"].copy())
        self.scales_ = np.concatenate([state["scales"].astype(np.float64), [0.0, 1.0]])[:6]
        self.fields_ = FieldModel.from_array(state["fields_json"]) if "fields_json" in state else None
        self.zero_forms_ = {int(v) for v in state.get("zero_forms", np.zeros(0, np.int64))}
        self.repeat_forms_ = state.get("repeat_forms", np.zeros(0, np.int64)).astype(np.int64)
        self.repeat_stats_ = state.get("repeat_stats", np.zeros((0, 2))).astype(np.float64).reshape(-1, 2)
