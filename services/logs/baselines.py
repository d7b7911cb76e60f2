"""Benchmark baselines over Drain3 templates (not served plugins): loglizer-style PCA / Isolation Forest
on per-session template counts, DeepLog (an LSTM predicting the next template; keys only, or with a
parameter-value model), and that value model alone.

Lines are parsed with Drain3 (``drain3`` from PyPI) with its default tree settings (depth 4,
similarity 0.4) after the masking its documentation recommends for loghub logs (block ids, IP
addresses, hex and plain numbers); templates first seen at test time share one "unseen" id.
"""

from __future__ import annotations

import re

import numpy as np

from services.logs.text import session_lines

__all__ = ["DeepLog", "DrainTemplates", "TemplateCountModel", "ValueModel"]

_HEADER = re.compile(r"^(?:\S*\d\S*\s+)+")
_HUGE = 1e150


class DrainTemplates:
    """Drain3 template ids for raw lines; the header (leading fields with digits) is dropped first."""

    def __init__(self) -> None:
        from drain3 import TemplateMiner
        from drain3.masking import MaskingInstruction
        from drain3.template_miner_config import TemplateMinerConfig

        config = TemplateMinerConfig()
        config.masking_instructions = [
            MaskingInstruction(r"blk_-?\d+", "BLK"),
            MaskingInstruction(r"\d+\.\d+\.\d+\.\d+(:\d+)?", "IP"),
            MaskingInstruction(r"0x[0-9a-fA-F]+", "HEX"),
            MaskingInstruction(r"(?<![A-Za-z])-?\d+(?![A-Za-z])", "NUM"),
        ]
        config.profiling_enabled = False
        self.miner = TemplateMiner(config=config)
        self.ids: dict[int, int] = {}  # drain cluster id → dense id (0 = unseen)

    def fit(self, sessions: np.ndarray) -> list[np.ndarray]:
        """Mine templates on training sessions; their dense ids ``(L,)`` per session."""
        out = []
        for session in sessions:
            ids = []
            for line in session_lines(session):
                cluster = self.miner.add_log_message(_HEADER.sub("", line, count=1))["cluster_id"]
                ids.append(self.ids.setdefault(cluster, len(self.ids) + 1))
            out.append(np.array(ids, np.int64))
        self.templates = {self.ids[c.cluster_id]: c.get_template() for c in self.miner.drain.clusters
                          if c.cluster_id in self.ids}
        return out

    def numbers(self, template_id: int, line: str) -> np.ndarray:
        """The numeric parameters ``(P,)`` float64 of a line under its template (empty when none match)."""
        template = self.templates.get(template_id)
        if template is None:
            return np.zeros(0)
        found = self.miner.extract_parameters(template, _HEADER.sub("", line, count=1), exact_matching=False)
        values = []
        for parameter in found or []:
            try:
                values.append(float(parameter.value))
            except ValueError:
                continue
        return np.clip(np.nan_to_num(np.array(values, np.float64)), -_HUGE, _HUGE)  # long digit runs: no overflow

    def transform(self, sessions: np.ndarray) -> list[np.ndarray]:
        """Dense template ids per session; lines matching no training template get 0."""
        out = []
        for session in sessions:
            ids = []
            for line in session_lines(session):
                cluster = self.miner.match(_HEADER.sub("", line, count=1))
                ids.append(self.ids.get(cluster.cluster_id, 0) if cluster is not None else 0)
            out.append(np.array(ids, np.int64))
        return out

    @property
    def size(self) -> int:
        """Template ids, including 0 = unseen."""
        return len(self.ids) + 1


class TemplateCountModel:
    """loglizer-style: TF-IDF-weighted template count vectors per session → PCA residual or Isolation Forest.

    Column 0 counts lines of *rare* templates: unseen in training, or seen in fewer than ``rare`` of the
    training sessions. It varies in training (so Isolation Forest can split on it, unlike a column that
    is zero on every training session) and a template first seen at test time lands in it.
    """

    def __init__(self, kind: str = "pca", seed: int = 0, rare: float = 0.01) -> None:
        self.kind, self.seed, self.rare = kind, seed, rare

    def _counts(self, ids: list[np.ndarray]) -> np.ndarray:
        counts = np.zeros((len(ids), self.templates.size))
        for row, session in enumerate(ids):
            np.add.at(counts[row], self.column[session], 1.0)
        return counts * self.idf

    def fit(self, sessions: np.ndarray) -> TemplateCountModel:
        """Fit on normal sessions ``(n,)``."""
        from sklearn.decomposition import PCA
        from sklearn.ensemble import IsolationForest

        self.templates = DrainTemplates()
        ids = self.templates.fit(sessions)
        present = np.zeros(self.templates.size)
        for session in ids:
            present[np.unique(session)] += 1
        self.column = np.where(present < max(2.0, self.rare * len(ids)), 0, np.arange(self.templates.size))
        present[0] = sum(bool((self.column[s] == 0).any()) for s in ids)
        self.idf = np.log((len(ids) + 1) / (present + 1)) + 1.0
        x = self._counts(ids)
        self.mean = x.mean(0)
        if self.kind == "pca":
            self.model = PCA(n_components=0.95, random_state=self.seed).fit(x - self.mean)
        else:
            self.model = IsolationForest(n_estimators=200, random_state=self.seed).fit(x)
        return self

    def score(self, sessions: np.ndarray) -> np.ndarray:
        """Session scores ``(n,)``: PCA squared residual (SPE) or negated Isolation Forest score."""
        x = self._counts(self.templates.transform(sessions))
        if self.kind == "pca":
            centred = x - self.mean
            residual = centred - self.model.inverse_transform(self.model.transform(centred))
            return (residual**2).sum(1)
        return -self.model.score_samples(x)


class ValueModel:
    """DeepLog's parameter-value model without its per-key LSTM: per template and parameter position, a
    Gaussian over the training values; a line's score is its largest ``|z|``, a session's its highest line
    (lines of unseen templates, or with another number of parameters, score 0: the key model covers them)."""

    def __init__(self, templates: DrainTemplates | None = None) -> None:
        self.templates = templates

    def fit(self, sessions: np.ndarray, ids: list[np.ndarray] | None = None) -> ValueModel:
        """Fit on normal sessions ``(n,)`` (``ids``: their template ids when the templates are shared)."""
        if self.templates is None or ids is None:
            self.templates = DrainTemplates()
            ids = self.templates.fit(sessions)
        values: dict[tuple[int, int], list[np.ndarray]] = {}
        for session, keys in zip(sessions, ids, strict=True):
            for line, key in zip(session_lines(session), keys.tolist(), strict=True):
                numbers = self.templates.numbers(key, line)
                values.setdefault((key, len(numbers)), []).append(numbers)
        self.stats = {k: (np.mean(v, 0), np.std(v, 0) + 1e-6 + 0.01 * np.abs(np.mean(v, 0)))
                      for k, v in values.items() if k[1]}
        return self

    def line_scores(self, sessions: np.ndarray, ids: list[np.ndarray]) -> list[np.ndarray]:
        """Per session ``(L,)`` largest ``|z|`` of each line's numeric parameters."""
        out = []
        for session, keys in zip(sessions, ids, strict=True):
            scores = []
            for line, key in zip(session_lines(session), keys.tolist(), strict=True):
                numbers = self.templates.numbers(key, line)
                stats = self.stats.get((key, len(numbers)))
                scores.append(float(np.max(np.abs(numbers - stats[0]) / stats[1])) if stats else 0.0)
            out.append(np.array(scores))
        return out

    def score(self, sessions: np.ndarray) -> np.ndarray:
        """Session scores ``(n,)``."""
        scores = self.line_scores(sessions, self.templates.transform(sessions))
        return np.array([s.max() if len(s) else 0.0 for s in scores])


class DeepLog:
    """DeepLog: an LSTM over the last ``history`` template ids predicts the next; a session's score is its
    highest next-template surprisal ``-log p`` (the paper flags templates outside the top-g).

    ``values=True`` adds the parameter-value model (:class:`ValueModel`, a Gaussian per key and
    parameter rather than the paper's per-key LSTM): a line's score is the larger of its key surprisal
    and its value ``|z|``, each divided by its 99th percentile over the training lines.
    """

    def __init__(self, history: int = 10, hidden: int = 64, epochs: int = 4, seed: int = 0,
                 values: bool = False) -> None:
        self.history, self.hidden, self.epochs, self.seed, self.values = history, hidden, epochs, seed, values

    def _windows(self, ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(history windows (N, h), next ids (N,), session of each window (N,)), padded with a start id."""
        start = self.templates.size
        xs, ys, owner = [], [], []
        for row, session in enumerate(ids):
            padded = np.concatenate([np.full(self.history, start), session])
            for t in range(len(session)):
                xs.append(padded[t:t + self.history])
                ys.append(session[t])
                owner.append(row)
        return np.array(xs, np.int64), np.array(ys, np.int64), np.array(owner, np.int64)

    def fit(self, sessions: np.ndarray) -> DeepLog:
        """Train on normal sessions ``(n,)``."""
        import torch
        from torch import nn

        self.templates = DrainTemplates()
        ids = self.templates.fit(sessions)
        x, y, _ = self._windows(ids)
        generator = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.embed = nn.Embedding(self.templates.size + 1, 32)
            self.lstm = nn.LSTM(32, self.hidden, num_layers=2, batch_first=True)
            self.out = nn.Linear(self.hidden, self.templates.size)
        params = [*self.embed.parameters(), *self.lstm.parameters(), *self.out.parameters()]
        optimiser = torch.optim.Adam(params, lr=2e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        for _ in range(self.epochs):
            for batch in torch.randperm(len(xt), generator=generator).split(512):
                loss = nn.functional.cross_entropy(self._logits(xt[batch]), yt[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        if self.values:
            self.value_model = ValueModel(self.templates).fit(sessions, ids)
            self.scales = (float(np.quantile(self._surprisal(x, y), 0.99)) or 1.0,
                           float(np.quantile(np.concatenate(self.value_model.line_scores(sessions, ids)), 0.99)) or 1.0)
        return self

    def _logits(self, x):  # type: ignore[no-untyped-def]
        hidden, _ = self.lstm(self.embed(x))
        return self.out(hidden[:, -1])

    def _surprisal(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logp = torch.cat([torch.log_softmax(self._logits(torch.from_numpy(x[i:i + 4096])), -1)
                              for i in range(0, len(x), 4096)])
        return -logp[torch.arange(len(y)), torch.from_numpy(y)].numpy()

    def score(self, sessions: np.ndarray) -> np.ndarray:
        """Session scores ``(n,)``: the highest line score (``-log p(next template)``, or with ``values`` the
        larger of the scaled key and value scores) over the session's lines."""
        ids = self.templates.transform(sessions)
        x, y, owner = self._windows(ids)
        surprisal = self._surprisal(x, y)
        if self.values:
            value = np.concatenate(self.value_model.line_scores(sessions, ids))
            surprisal = np.maximum(surprisal / self.scales[0], value / self.scales[1])
        scores = np.full(len(sessions), -np.inf)
        np.maximum.at(scores, owner, surprisal)
        return scores
