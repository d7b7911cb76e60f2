"""Benchmark baselines over Drain3 templates (not served plugins): loglizer-style PCA / Isolation Forest
on per-session template counts, and DeepLog (an LSTM predicting the next template).

Lines are parsed with Drain3 (``drain3`` from PyPI) after the usual loghub masking of block ids,
IP addresses and numbers; templates first seen at test time share one "unseen" id.
"""

from __future__ import annotations

import re

import numpy as np

from services.logs.text import session_lines

__all__ = ["DeepLog", "DrainTemplates", "TemplateCountModel"]

_HEADER = re.compile(r"^(?:\S*\d\S*\s+)+")


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
        return out

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
    """loglizer-style: TF-IDF-weighted template count vectors per session → PCA residual or Isolation Forest."""

    def __init__(self, kind: str = "pca", seed: int = 0) -> None:
        self.kind, self.seed = kind, seed

    def _counts(self, ids: list[np.ndarray]) -> np.ndarray:
        counts = np.zeros((len(ids), self.templates.size))
        for row, session in enumerate(ids):
            np.add.at(counts[row], session, 1.0)
        counts[:, 0] *= 10.0  # an unseen template is itself suspicious
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


class DeepLog:
    """DeepLog: an LSTM over the last ``history`` template ids predicts the next; a session's score is its
    highest next-template surprisal ``-log p`` (the paper flags templates outside the top-g)."""

    def __init__(self, history: int = 10, hidden: int = 64, epochs: int = 4, seed: int = 0) -> None:
        self.history, self.hidden, self.epochs, self.seed = history, hidden, epochs, seed

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
        x, y, _ = self._windows(self.templates.fit(sessions))
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
        return self

    def _logits(self, x):  # type: ignore[no-untyped-def]
        hidden, _ = self.lstm(self.embed(x))
        return self.out(hidden[:, -1])

    def score(self, sessions: np.ndarray) -> np.ndarray:
        """Session scores ``(n,)``: the highest ``-log p(next template)`` over the session's lines."""
        import torch

        x, y, owner = self._windows(self.templates.transform(sessions))
        with torch.no_grad():
            logp = torch.cat([torch.log_softmax(self._logits(torch.from_numpy(x[i:i + 4096])), -1)
                              for i in range(0, len(x), 4096)])
        surprisal = -logp[torch.arange(len(y)), torch.from_numpy(y)].numpy()
        scores = np.full(len(sessions), -np.inf)
        np.maximum.at(scores, owner, surprisal)
        return scores
