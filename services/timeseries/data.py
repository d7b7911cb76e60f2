"""Time-series data: loaders for UCR / TSB-AD / TimeEval files, aeon's bundled series, a generator.

Every loader returns a :class:`LabelledSeries`. Following TimeEval, TSB-AD and aeon, ``test`` is
the whole recorded series (the training prefix included) and ``test_labels`` index it directly;
``train`` is the normal prefix (or a separate normal file) to fit on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.core.errors import InvalidInputError
from services.timeseries.series_csv import parse_series_csv

__all__ = [
    "LabelledSeries",
    "generate_multivariate",
    "load_aeon_ecg",
    "load_aeon_kdd135",
    "load_timeeval_csv",
    "load_tsb_ad_csv",
    "load_ucr_anomaly",
    "read_series_csv",
]

UCR_NAME = re.compile(r"^(?P<stem>\d+_UCR_Anomaly_.+)_(?P<train>\d+)_(?P<start>\d+)_(?P<end>\d+)$")
TSB_TRAIN = re.compile(r"_tr_(?P<train>\d+)(?:_1st_(?P<first>\d+))?$")


@dataclass(frozen=True)
class LabelledSeries:
    """``train`` ``(T_train, C)`` and ``test`` ``(T_test, C)`` float32, ``test_labels`` ``(T_test,)`` int8.

    ``anomalies`` lists ``(kind, start, end)`` (``end`` exclusive, test indexes) where known.
    """

    train: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray
    name: str
    anomalies: tuple[tuple[str, int, int], ...] = ()

    def held_out(self) -> LabelledSeries:
        """The test part the model never saw: when ``test`` starts with ``train`` (the UCR/TSB-AD
        convention of scoring the whole recording), that prefix is dropped and indexes shift."""
        n = len(self.train)
        if len(self.test) <= n or not np.array_equal(self.test[:n], self.train):
            return self
        shifted = tuple((kind, start - n, end - n) for kind, start, end in self.anomalies if end > n)
        return LabelledSeries(self.train, self.test[n:], self.test_labels[n:], self.name, shifted)


def _series(values: np.ndarray, labels: np.ndarray, train_end: int | None, name: str) -> LabelledSeries:
    values = np.asarray(values, np.float32).reshape(len(values), -1)
    labels = (np.asarray(labels, np.float64) > 0).astype(np.int8)
    if train_end is None:  # no split given: the normal prefix before the first anomaly
        train_end = int(np.argmax(labels)) if labels.any() else len(values)
    return LabelledSeries(values[: max(train_end, 1)].copy(), values, labels, name)


def load_ucr_anomaly(path: str | Path, one_based: bool = True) -> LabelledSeries:
    """Load ``NNN_UCR_Anomaly_<name>_<trainEnd>_<anomStart>_<anomEnd>.txt`` (values one per line or spaced).

    ``train`` is ``[0, trainEnd)``. The archive's anomaly indexes are 1-based and inclusive
    (``one_based=True``), so labels are 1 on 0-based ``[anomStart - 1, anomEnd - 1]``; with
    ``one_based=False`` they are read as 0-based inclusive ``[anomStart, anomEnd]``. (aeon's TimeEval
    copy of series 135 labels 0-based ``[anomStart, anomEnd)``: one point later at the start.)
    """
    path = Path(path)
    match = UCR_NAME.match(path.stem)
    if match is None:
        raise InvalidInputError(
            f"expected a file named NNN_UCR_Anomaly_<name>_<trainEnd>_<start>_<end>.txt, got {path.name}"
        )
    try:
        values = np.array(path.read_text().replace(",", " ").split(), dtype=np.float64)
    except ValueError as error:
        raise InvalidInputError(f"{path.name}: expected numbers only ({error})") from error
    offset = 1 if one_based else 0
    start, end = int(match["start"]) - offset, int(match["end"]) - offset
    labels = np.zeros(len(values), np.int8)
    labels[max(start, 0) : end + 1] = 1
    return _series(values, labels, int(match["train"]), match["stem"])


def _read_csv(path: str | Path) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    frame = pd.read_csv(path)
    if frame.empty:
        raise InvalidInputError(f"{Path(path).name}: expected at least one data row")
    return [str(c) for c in frame.columns], frame.to_numpy()


def load_tsb_ad_csv(path: str | Path) -> LabelledSeries:
    """Load a TSB-AD CSV (numeric channel columns, last column ``Label``).

    The split comes from ``_tr_<trainEnd>_1st_<firstAnomaly>`` in the file name when present,
    else the prefix before the first anomaly.
    """
    path = Path(path)
    columns, table = _read_csv(path)
    if columns[-1].strip().lower() != "label":
        raise InvalidInputError(f"{path.name}: expected the last column to be 'Label', got {columns[-1]!r}")
    match = TSB_TRAIN.search(path.stem)
    return _series(
        table[:, :-1].astype(np.float64), table[:, -1], int(match["train"]) if match else None, path.stem
    )


def load_timeeval_csv(path: str | Path, train_path: str | Path | None = None) -> LabelledSeries:
    """Load a TimeEval CSV (``timestamp``, value columns, ``is_anomaly``), as shipped by aeon.

    ``train_path`` (a normal TimeEval file) gives ``train``; else the prefix before the first anomaly.
    """
    columns, table = _read_csv(path)
    if columns[-1].strip().lower() != "is_anomaly":
        raise InvalidInputError(
            f"{Path(path).name}: expected the last column 'is_anomaly', got {columns[-1]!r}"
        )
    series = _series(table[:, 1:-1].astype(np.float64), table[:, -1], None, Path(path).stem)
    if train_path is None:
        return series
    train = load_timeeval_csv(train_path).test
    return LabelledSeries(train, series.test, series.test_labels, series.name)


def _aeon_data() -> Path:
    import aeon

    return Path(aeon.__file__).parent / "datasets" / "data"


def load_aeon_kdd135() -> LabelledSeries:
    """UCR/KDD-TSAD series 135 (InternalBleeding16) bundled with aeon: 1200 train, 7501 test points."""
    folder = _aeon_data() / "KDD-TSAD_135"
    stem = "135_UCR_Anomaly_InternalBleeding16"
    series = load_timeeval_csv(folder / f"{stem}_TEST.csv", folder / f"{stem}_TRAIN.csv")
    return LabelledSeries(series.train, series.test, series.test_labels, stem)


def load_aeon_ecg() -> LabelledSeries:
    """aeon's synthetic ECG test series (3 anomalies, 10k points) with its anomaly-free training file."""
    folder = _aeon_data() / "UnitTest"
    series = load_timeeval_csv(folder / "ecg-diff-count-3_TEST.csv", folder / "ecg-diff-count-3_TRAIN_NA.csv")
    return LabelledSeries(series.train, series.test, series.test_labels, "ecg-diff-count-3")


def read_series_csv(text_or_path: str | bytes | Path) -> np.ndarray:
    """A CSV file path, CSV text or bytes → float32 ``(T, C)`` (rules in :mod:`services.timeseries.series_csv`)."""
    one_line = isinstance(text_or_path, str) and "\n" not in text_or_path
    if isinstance(text_or_path, Path) or (one_line and Path(text_or_path).is_file()):
        if not Path(text_or_path).is_file():
            raise InvalidInputError(f"expected a CSV file, {text_or_path} does not exist")
        text = Path(text_or_path).read_bytes().decode("utf-8", errors="strict")
    elif one_line and text_or_path.lower().endswith((".csv", ".txt", ".tsv")):
        raise InvalidInputError(f"expected a CSV file or CSV text, {text_or_path} does not exist")
    else:
        text = text_or_path.decode() if isinstance(text_or_path, bytes) else text_or_path
    return parse_series_csv(text.encode())


KINDS = ("point", "contextual", "seasonal", "collective")
LENGTHS = {"point": (1, 2), "contextual": (20, 40), "seasonal": (80, 150), "collective": (40, 80)}


def _latent_model(
    n_channels: int, rng: np.random.Generator
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """Random seasonal model (time ``(T,)`` -> clean channels ``(T, C)``) and its longest period."""
    k = max(2, min(4, n_channels))
    periods = rng.choice([24.0, 50.0, 96.0, 150.0], size=k, replace=False)
    phase, harmonic = rng.uniform(0, 2 * np.pi, (2, k)), rng.uniform(0.2, 0.5, k)
    mixing, offset = rng.normal(size=(n_channels, k)), rng.normal(size=n_channels)

    def model(tau: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * tau[:, None] / periods
        factors = np.sin(angle + phase[0]) + harmonic * np.sin(2 * angle + phase[1])
        return factors @ mixing.T + offset

    return model, float(periods.max())


def generate_multivariate(
    n_train: int = 4000,
    n_test: int = 4000,
    n_channels: int = 4,
    anomaly_kinds: tuple[str, ...] = KINDS,
    seed: int = 0,
) -> LabelledSeries:
    """Correlated seasonal series with labelled anomalies injected into the test part only.

    Channels mix 2-4 shared latent seasonal factors (periods 24-150, with harmonics) plus noise.
    Kinds (``max(1, n_test // 2000)`` of each): ``point`` (a one-step spike to 4-5 std from the
    mean in some channels), ``contextual`` (half a period out of phase: normal values, wrong for the phase),
    ``seasonal`` (a stretch at double frequency), ``collective`` (half the channels inverted around
    their mean, a correlation break; a flat line for one channel). Deterministic from ``seed``.
    """
    unknown = set(anomaly_kinds) - set(KINDS)
    if unknown or n_train < 1 or n_test < 400 or n_channels < 1:
        raise InvalidInputError(
            f"expected kinds from {KINDS}, n_train >= 1, n_test >= 400, n_channels >= 1; "
            f"got kinds {tuple(anomaly_kinds)}, {n_train=}, {n_test=}, {n_channels=}"
        )
    rng = np.random.default_rng(seed)
    model, longest = _latent_model(n_channels, rng)
    tau = np.arange(n_train + n_test, dtype=np.float64)
    values = model(tau) + 0.1 * rng.standard_normal((len(tau), n_channels))
    test, t_test = values[n_train:], tau[n_train:]
    mean, std = test.mean(0), test.std(0)
    kinds = [k for k in anomaly_kinds for _ in range(max(1, n_test // 2000))]
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    slot = (n_test - 100) // max(len(kinds), 1)
    labels, anomalies = np.zeros(n_test, np.int8), []
    for i, kind in enumerate(kinds):
        length = min(int(rng.integers(*LENGTHS[kind])), slot // 2)
        s = 50 + i * slot + int(rng.integers(0, slot - length))
        e, noise = s + length, 0.1 * rng.standard_normal((length, n_channels))
        if kind == "point":
            chans = rng.choice(n_channels, size=max(1, n_channels // 2), replace=False)
            sign = rng.choice([-1.0, 1.0], len(chans))
            test[s, chans] = mean[chans] + sign * rng.uniform(4, 5, len(chans)) * std[chans]
        elif kind == "contextual":
            test[s:e] = model(t_test[s:e] + longest / 2) + noise
        elif kind == "seasonal":
            test[s:e] = model(t_test[s] + 2 * (t_test[s:e] - t_test[s])) + noise
        elif n_channels > 1:
            chans = rng.choice(n_channels, size=n_channels // 2, replace=False)
            test[s:e, chans] = 2 * mean[chans] - test[s:e, chans]
        else:
            test[s:e] = test[s] + noise
        labels[s:e] = 1
        anomalies.append((kind, s, e))
    return LabelledSeries(
        values[:n_train].astype(np.float32),
        test.astype(np.float32),
        labels,
        f"synthetic-{n_channels}ch-seed{seed}",
        tuple(sorted(anomalies, key=lambda a: a[1])),
    )
