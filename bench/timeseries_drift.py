"""COMET under drift: real trending / level-drifting series with injected anomalies, scored as streams.

Series ship inside installed packages (``services.timeseries.real_series``: statsmodels CO2, river's
approval, water-flow and S&P 500 data); anomalies come from ``services.timeseries.injection`` (one
spike, level shift, inversion, noise burst and stuck stretch per seed). Each method is fitted on
the first 45 % (clean) and scores the rest. COMET runs as a stream (``stream_step``, ``--chunk``
points at a time, primed with the last window of the training part, so no test point is warm-up),
with online adaptation on or off, for each input normalisation: frozen ``global`` statistics,
first ``difference`` and per-``window`` centring. Peers: PyOD LOF over sliding windows with the same
three normalisations, and PyOD IForest.

Seeds: ``--split validation`` uses data seeds 100, 101, ... (for every choice: variants, settings);
``--split test`` (default) uses 0, 1, ... and is only reported. Seed ``s`` sets both the
injection and the model seed. Metrics: VUS-PR with ``sliding_window=32`` (buffers 0..64), AUROC,
raw point F1; mean ± sd over seeds.

Run: ``python bench/timeseries_drift.py [--quick] [--seeds 5] [--split test|validation] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import print_table  # importing _common puts the repo on sys.path
from timeseries_accuracy import limit_threads, sliding_windows, windows_to_points

WINDOW = 64
VUS_WINDOW = 32
VALIDATION_SEED0 = 100
# Fixed before any run: the series are 1,000-2,300 points, so a 64-point window and 100 steps
# (the default 128 / 200 are sized for series of tens of thousands of points).
COMET_CONFIG = {"window": WINDOW, "train_steps": 100}
# name -> (normalization, adapt online, score guard on adaptation)
COMET_VARIANTS: dict[str, tuple[str, bool, bool]] = {
    "COMET global, no adaptation": ("global", False, True),
    "COMET global + online adaptation": ("global", True, True),
    "COMET differenced, no adaptation": ("difference", False, True),
    "COMET differenced + online adaptation": ("difference", True, True),
    "COMET window-centred, no adaptation": ("window", False, True),
    "COMET window-centred + online adaptation": ("window", True, True),
    "COMET window-centred + online adaptation, no score guard": ("window", True, False),
}


class WindowPeer:
    """A PyOD detector over sliding windows of the normalised series (COMET's own normalisations)."""

    def __init__(self, make: Callable[[], Any], mode: str) -> None:
        self.make, self.mode = make, mode

    def _windows(self, series: np.ndarray) -> np.ndarray:
        import torch

        from services.timeseries.detectors.comet.normalization import centre_windows, transform

        x = transform(series, self.location_, self.scale_, self.mode)  # type: ignore[arg-type]
        windows = sliding_windows(x, WINDOW)  # (N, W) for one channel
        return centre_windows(torch.from_numpy(windows)[:, None], self.mode)[:, 0].numpy()  # type: ignore[arg-type]

    def fit(self, train: np.ndarray) -> WindowPeer:
        from services.timeseries.detectors.comet.normalization import input_statistics

        self.location_, self.scale_ = input_statistics(train, self.mode, WINDOW)  # type: ignore[arg-type]
        self.model_ = self.make().fit(self._windows(train))
        return self

    def score(self, test: np.ndarray) -> np.ndarray:
        return windows_to_points(self.model_.decision_function(self._windows(test)), len(test), WINDOW)


def comet_stream_scores(detector: Any, train: np.ndarray, test: np.ndarray, adapt: bool, chunk: int) -> np.ndarray:
    """Stream ``test`` through ``detector`` after the last window of ``train``; scores ``(T_test,)``."""
    state = detector.initial_stream_state()
    _, state = detector.stream_step(train[-WINDOW:], state, adapt=False)
    out = []
    for start in range(0, len(test), chunk):
        scores, state = detector.stream_step(test[start : start + chunk], state, adapt=adapt)
        out.append(scores)
    return np.concatenate(out)


def unguarded(detector: Any) -> Any:
    """The same fitted COMET with ``adapt_max_score=None`` (adapts on every window)."""
    clone = type(detector)(detector.config, adapt_max_score=None)
    clone.load_state_dict(detector.state_dict())
    clone.fitted_ = True
    return clone


def metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from services.timeseries import evaluation

    return {
        "vus_pr": evaluation.vus_pr(labels, scores, sliding_window=VUS_WINDOW),
        "auroc": evaluation.auroc(labels, scores),
        "point_f1": evaluation.point_f1(labels, scores),
    }


def run_series(name: str, seed: int, quick: bool, chunk: int) -> dict[str, dict[str, float]]:
    """Every method on one (series, seed): ``{method: metrics}``."""
    from pyod.models.iforest import IForest
    from pyod.models.lof import LOF

    from services.timeseries.detectors.comet import CometDetector
    from services.timeseries.injection import inject_anomalies
    from services.timeseries.real_series import load_real_series

    data = inject_anomalies(load_real_series(name), name, seed=seed)
    out: dict[str, dict[str, float]] = {}
    overrides = {**COMET_CONFIG, "seed": seed, **({"train_steps": 60, "memory_size": 256} if quick else {})}
    fitted: dict[str, Any] = {}
    for method, (mode, adapt, guard) in COMET_VARIANTS.items():
        if mode not in fitted:
            fitted[mode] = CometDetector(overrides, normalization=mode).fit(data.train)
        detector = fitted[mode] if guard else unguarded(fitted[mode])
        scores = comet_stream_scores(detector, data.train, data.test, adapt, chunk)
        out[method] = metrics(data.test_labels, scores)
    peers = {f"PyOD LOF (w={WINDOW}), {mode}": (lambda: LOF(n_neighbors=20), mode)
             for mode in ("global", "difference", "window")}  # fmt: skip
    peers[f"PyOD IForest (w={WINDOW}), global"] = (lambda: IForest(random_state=seed), "global")
    for method, (make, mode) in peers.items():
        peer = WindowPeer(make, mode).fit(data.train)
        out[method] = metrics(data.test_labels, peer.score(data.test))
    return out


def summarise(runs: dict[str, list[dict[str, dict[str, float]]]], key: str) -> tuple[list[str], list[list[str]]]:
    """Rows ``method, series..., mean over series`` of ``key`` as ``mean ± sd`` over seeds."""
    names = list(runs)
    methods = list(runs[names[0]][0])
    rows = []
    for method in methods:
        cells, means = [], []
        for name in names:
            values = np.array([run[method][key] for run in runs[name]])
            cells.append(f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}")
            means.append(values)
        per_seed = np.mean(means, axis=0)  # the mean over series, per seed
        sd = per_seed.std(ddof=1) if len(per_seed) > 1 else 0.0
        rows.append([method, *cells, f"{per_seed.mean():.3f} ± {sd:.3f}"])
    return ["method", *names, "mean over series"], rows


def main() -> None:
    from services.timeseries.real_series import DRIFTING, REAL_SERIES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small COMET, 2 seeds, 2 series (smoke run)")
    parser.add_argument("--seeds", type=int, default=5, help="data seeds (default 5)")
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--series", nargs="+", choices=list(REAL_SERIES), help="default: the drifting ones")
    parser.add_argument("--chunk", type=int, default=16, help="stream points per StreamDetect message")
    parser.add_argument("--threads", type=int, default=1, help="torch / BLAS threads (0 = library default)")
    parser.add_argument("--json", type=Path, metavar="OUT")
    args = parser.parse_args()
    limit_threads(args.threads)
    seeds = 2 if args.quick else args.seeds
    series = args.series or list(DRIFTING[:2] if args.quick else DRIFTING)
    first = VALIDATION_SEED0 if args.split == "validation" else 0
    started = time.perf_counter()
    runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in series}
    for name in series:
        for seed in range(first, first + seeds):
            runs[name].append(run_series(name, seed, args.quick, args.chunk))
            print(f"  {name} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    for key, label in (("vus_pr", f"VUS-PR (sliding_window={VUS_WINDOW})"), ("auroc", "AUROC"),
                       ("point_f1", "raw point F1")):  # fmt: skip
        header, rows = summarise(runs, key)
        print_table(f"Drift, {args.split} seeds {first}..{first + seeds - 1}: {label}, mean ± sd over seeds", header,
                    rows)  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "seeds": list(range(first, first + seeds)),
                                         "quick": args.quick, "runs": runs}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
