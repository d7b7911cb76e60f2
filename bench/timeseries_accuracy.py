"""Held-out accuracy of COMET against peers, on every series in ``experiments.DATASETS``.

Every method is fitted on the train split only (no labels) and scores the held-out test split;
the metrics are raw (no point adjustment). Peers, on the same splits in the same run:

* PyOD ``IForest`` and ``LOF`` over sliding windows (stride 1; fitted on train windows; a point's
  score is the mean over the test windows that cover it), in this virtual environment;
* TSB-AD's ``IForest``, ``PCA`` and ``HBOS`` (``Sub_*`` with a period window on univariate data),
  run by ``bench/_tsb_ad_runner.py`` in their own virtual environment ``bench/.venvs/tsb-ad``
  (TSB-AD 1.5 needs numpy < 2; DESIGN.md §7), which this script creates on first run.

TSB-AD's own metric code also scores every method, as a cross-check of our VUS-PR implementation.
Without that environment the script says why and goes on with the PyOD peers.

Seeds (``--seeds``, default 5): seed ``s`` seeds COMET and IForest and draws the generated series
anew (``experiments.DATASETS``); the real series stay fixed. The table gives mean ± sd over seeds.

Run: ``python bench/timeseries_accuracy.py [--quick] [--seeds 5] [--datasets NAME ...] [--json out.json]``
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from _common import print_table  # importing _common puts the repo on sys.path

BENCH = Path(__file__).resolve().parent
TSB_VENV = BENCH / ".venvs" / "tsb-ad"
TSB_RUNNER = BENCH / "_tsb_ad_runner.py"
# scikit-learn >= 1.6 breaks TSB-AD 1.5's ``check_is_fitted`` calls (no ``__sklearn_tags__``).
TSB_REQUIREMENTS = ["tsb-ad==1.5", "scikit-learn<1.6"]
# Left out: OCSVM (TSB-AD 1.5's OCSVM.fit min-max scales each window, its decision_function does not)
# and MCD (Sub_MCD's period-3 window gives a 280-dim MinCovDet on ECG: many minutes on 2 cores).
TSB_ALGORITHMS = ["IForest", "PCA", "HBOS"]
TSB_TIMEOUT_S = 600
METRIC_COLUMNS = [("vus_pr", "VUS-PR"), ("vus_roc", "VUS-ROC"), ("range_f1", "range F1"),
                  ("point_f1", "point F1"), ("auroc", "AUROC")]  # fmt: skip


class Scorer(Protocol):
    """What the benchmark needs of a method: fit on a train split, per-point scores of a test split."""

    def fit(self, train: np.ndarray) -> Any: ...

    def score(self, test: np.ndarray) -> np.ndarray: ...


@dataclass
class Result:
    """One (dataset, method) row: scores on the test split and wall-clock times."""

    dataset: str
    method: str
    fit_s: float
    score_s: float
    scores: np.ndarray | None = field(default=None, repr=False)
    seed: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    tsb_metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def row(self) -> dict[str, Any]:
        """JSON-ready row (no score array)."""
        out = asdict(self)
        out.pop("scores")
        return out


# -- PyOD peers over sliding windows --------------------------------------------------------------
def sliding_windows(series: np.ndarray, window: int) -> np.ndarray:
    """``(T, C)`` -> ``(T - window + 1, window * C)`` windows (stride 1), edge-padded if ``T < window``."""
    if len(series) < window:
        series = np.pad(series, ((0, window - len(series)), (0, 0)), mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)  # (N, C, W)
    return np.ascontiguousarray(view.reshape(len(view), -1))


def windows_to_points(window_scores: np.ndarray, length: int, window: int) -> np.ndarray:
    """Per-window scores ``(N,)`` -> per-point ``(length,)``: mean over the windows covering each point."""
    kernel = np.ones(window)
    total = np.convolve(window_scores, kernel)  # point t sums windows t-W+1 .. t
    count = np.convolve(np.ones(len(window_scores)), kernel)
    return (total / count)[:length]


class WindowedPyOD:
    """A PyOD detector over z-scored sliding windows (train statistics), scores mapped back to points."""

    def __init__(self, make: Callable[[], Any], window: int) -> None:
        self.make, self.window = make, window

    def fit(self, train: np.ndarray) -> WindowedPyOD:
        self.mean_, self.std_ = _train_stats(train)
        self.model_ = self.make().fit(sliding_windows((train - self.mean_) / self.std_, self.window))
        return self

    def score(self, test: np.ndarray) -> np.ndarray:
        windows = sliding_windows((test - self.mean_) / self.std_, self.window)
        return windows_to_points(self.model_.decision_function(windows), len(test), self.window)


def _train_stats(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0, dtype=np.float64), train.std(0, dtype=np.float64)
    return mean, np.where(std > 1e-8, std, 1.0)


def local_methods(quick: bool, window: int, seed: int = 0) -> dict[str, Callable[[], Scorer]]:
    """COMET (default config, or the small one with ``quick``) and the PyOD window peers, seeded."""
    from pyod.models.iforest import IForest
    from pyod.models.lof import LOF

    from services.timeseries.experiments import comet_factory

    return {
        "COMET" + (" (quick)" if quick else ""): comet_factory(quick, seed),
        f"PyOD IForest (w={window})": lambda: WindowedPyOD(lambda: IForest(random_state=seed), window),
        f"PyOD LOF (w={window})": lambda: WindowedPyOD(lambda: LOF(n_neighbors=20), window),
    }


def run_local(dataset: str, name: str, factory: Callable[[], Scorer], series: Any, seed: int = 0) -> Result:
    """Fit a fresh method on ``series.train``, time it, score ``series.test``."""
    method = factory()
    started = time.perf_counter()
    method.fit(series.train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = np.asarray(method.score(series.test), dtype=np.float64).ravel()
    score_s = time.perf_counter() - started
    return Result(dataset, name, fit_s, score_s, scores, seed=seed)


# -- TSB-AD peers in their own virtual environment -------------------------------------------------
def _probe(python: Path) -> str | None:
    """None if ``python`` imports TSB-AD and its metrics, else the reason it does not."""
    code = "import numpy, sklearn, TSB_AD.model_wrapper, TSB_AD.evaluation.metrics, TSB_AD.models.IForest"
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{type(error).__name__}: {error}"
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["import failed"])[-1]


def ensure_tsb_ad(venv: Path = TSB_VENV) -> tuple[Path | None, str]:
    """The tsb-ad venv's python, creating the venv on first use; ``(None, reason)`` if impossible.

    Installs the CPU torch 2.13.0 first (a wheel on this machine's disk; TSB-AD depends on torch),
    then ``TSB_REQUIREMENTS``. Idempotent: a venv that already works is used as it is.
    """
    python = venv / "bin" / "python"
    if python.exists() and _probe(python) is None:
        return python, "ready"
    log = venv.parent / "tsb-ad-install.log"
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return None, f"cannot create {venv.parent}: {error}"
    print(f"setting up {venv} (TSB-AD 1.5, numpy < 2); log: {log}", flush=True)
    steps = [[sys.executable, "-m", "venv", str(venv)]] if not python.exists() else []
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    steps += [[*pip, "torch==2.13.0"], [*pip, *TSB_REQUIREMENTS]]
    with log.open("a") as out:
        for step in steps:
            out.write(f"\n$ {' '.join(step)}\n")
            out.flush()
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=1200)
            except (OSError, subprocess.TimeoutExpired) as error:
                return None, f"`{' '.join(step[-2:])}` failed: {type(error).__name__}: {error}"
            if done.returncode != 0:
                return None, f"`{' '.join(step[-2:])}` exited {done.returncode} (see {log})"
    reason = _probe(python)
    return (python, "installed") if reason is None else (None, f"installed, but TSB-AD does not import: {reason}")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def run_tsb_ad(
    python: Path, dataset: str, series: Any, results: list[Result], vus_window: int
) -> tuple[list[Result], str]:
    """Run TSB-AD's peers on ``series`` and its metrics on every method's scores (in ``results``).

    Returns the peers' rows (scores filled in) and a note ("" when all went well); fills each
    given result's ``tsb_metrics``.
    """
    mean, std = _train_stats(series.train)
    with tempfile.TemporaryDirectory(prefix="polyad-tsb-") as tmp:
        work = Path(tmp)
        (work / "scores").mkdir()
        np.save(work / "train.npy", ((series.train - mean) / std).astype(np.float64))
        np.save(work / "test.npy", ((series.test - mean) / std).astype(np.float64))
        np.save(work / "labels.npy", np.asarray(series.test_labels, dtype=np.int64))
        keys = {_slug(r.method): r for r in results}
        for key, result in keys.items():
            np.save(work / "scores" / f"{key}.npy", result.scores)
        cmd = [str(python), str(TSB_RUNNER), str(work), "--vus-window", str(vus_window)]
        try:
            done = subprocess.run(
                [*cmd, "--algorithms", *TSB_ALGORITHMS], capture_output=True, text=True, timeout=TSB_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return [], f"TSB-AD runner timed out after {TSB_TIMEOUT_S} s"
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return [], f"TSB-AD runner exited {done.returncode}: {tail}"
        report = json.loads((work / "result.json").read_text())
        notes, peers = [], []
        for name, info in report["algorithms"].items():
            if "error" in info:
                notes.append(f"TSB-AD {name} failed: {info['error']}")
                continue
            prefix = "Sub_" if series.train.shape[1] == 1 else ""
            label = f"TSB-AD {prefix}{name} (w={info['window']})"
            scores = np.load(work / "tsb_scores" / f"{name}.npy")
            peer = Result(dataset, label, info["fit_s"], info["score_s"], scores)
            peer.tsb_metrics = report["metrics"].get(f"tsb:{name}", {})
            peers.append(peer)
        for key, result in keys.items():
            result.tsb_metrics = report["metrics"].get(key, {})
        for item in [*results, *peers]:
            if "error" in item.tsb_metrics:
                notes.append(f"TSB-AD metrics failed on {item.method}: {item.tsb_metrics['error']}")
                item.tsb_metrics = {}
    return peers, "; ".join(notes)


# -- metrics and output ------------------------------------------------------------------------------
def vus_window() -> int:
    """The ``sliding_window`` our ``evaluation.vus_pr`` uses by default (the runner maps it to TSB-AD's)."""
    from services.timeseries import evaluation

    for name, param in inspect.signature(evaluation.vus_pr).parameters.items():
        if name in {"window", "max_window", "sliding_window", "buffer", "max_buffer"} and isinstance(
            param.default, int
        ):
            return param.default
    return 100


def limit_threads(threads: int) -> None:
    """Give torch, the BLAS libraries and the TSB-AD subprocess ``threads`` threads (0: leave them be).

    On a shared 2-core machine, torch's default two threads slow COMET down many times over as
    soon as another process takes a core; one thread per method keeps the timings comparable.
    """
    if threads <= 0:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = str(threads)


def select_datasets(names: list[str] | None, quick: bool) -> dict[str, Callable[[], Any]]:
    """``experiments.DATASETS`` filtered by case-insensitive substrings (the first one with ``quick``)."""
    from services.timeseries.experiments import DATASETS

    if not names:
        return dict(list(DATASETS.items())[:1]) if quick else dict(DATASETS)
    chosen = {k: v for k, v in DATASETS.items() if any(n.lower() in k.lower() for n in names)}
    if not chosen:
        raise SystemExit(f"no dataset matches {names}; choose from: {', '.join(DATASETS)}")
    return chosen


def _mean_sd(values: list[float]) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.3f} ± {sd:.3f}"


def print_results(results: list[Result], tsb_ran: bool, window: int) -> None:
    """The main table (mean ± sd over seeds), then the metric cross-check against TSB-AD's code (first seed)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.dataset, r.method), []).append(r)
    header = ["dataset", "method", "seeds", *(label for _, label in METRIC_COLUMNS), "fit s", "score s"]
    rows = [
        [dataset, method, str(len(rs)), *(_mean_sd([r.metrics[k] for r in rs]) for k, _ in METRIC_COLUMNS),
         f"{np.mean([r.fit_s for r in rs]):.2f}", f"{np.mean([r.score_s for r in rs]):.2f}"]
        for (dataset, method), rs in groups.items()
    ]  # fmt: skip
    print_table(
        "Held-out accuracy (fit on train, score test; raw metrics, no point adjustment), mean ± sd over seeds",
        header,
        rows,
    )
    results = [r for r in results if r.seed == min(x.seed for x in results)]
    if not tsb_ran:
        return
    header = ["dataset", "method", "VUS-PR ours", "TSB-AD", f"TSB-AD @{window}", "VUS-ROC ours", "TSB-AD",
              "AUROC ours", "TSB-AD", "point F1 ours", "TSB-AD"]  # fmt: skip
    pairs = [("vus_pr", "VUS-PR"), ("vus_pr", "VUS-PR@W"), ("vus_roc", "VUS-ROC"), ("auroc", "AUC-ROC"),
             ("point_f1", "Standard-F1")]  # fmt: skip
    rows = []
    for r in (r for r in results if r.tsb_metrics):
        m, t = r.metrics, r.tsb_metrics
        cells = [m["vus_pr"], t["VUS-PR"], t["VUS-PR@W"], m["vus_roc"], t["VUS-ROC"], m["auroc"], t["AUC-ROC"],
                 m["point_f1"], t["Standard-F1"]]  # fmt: skip
        rows.append([r.dataset, r.method, *(f"{c:.4f}" for c in cells)])
    print_table(
        f"Cross-check against TSB-AD 1.5's metric code (get_metrics): ours with sliding_window={window} "
        f"(buffers 0..{2 * window}) vs get_metrics(slidingWindow={2 * window}), same buffers; "
        f"'TSB-AD @{window}' = get_metrics(slidingWindow={window}), buffers 0..{window}",
        header,
        rows,
    )
    for ours, theirs in pairs:
        gaps = [abs(r.metrics[ours] - r.tsb_metrics[theirs]) for r in results if r.tsb_metrics]
        if gaps:
            print(f"max |{ours} (ours) - {theirs} (TSB-AD)| = {max(gaps):.2e} over {len(gaps)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small COMET, first dataset only (smoke run)")
    parser.add_argument("--datasets", nargs="+", metavar="NAME", help="substrings of experiments.DATASETS keys")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the rows as JSON")
    parser.add_argument("--window", type=int, default=100, help="PyOD peers' window length (default 100)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds (model seeds; data seeds of the generated set)")
    parser.add_argument("--no-tsb-ad", action="store_true", help="skip the TSB-AD peers and cross-check")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch / BLAS threads for every method (default 1: the peers run with n_jobs=1; 0 = library default)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    limit_threads(args.threads)

    from services.timeseries.experiments import metrics_row

    datasets = select_datasets(args.datasets, args.quick)
    seeds = list(range(2 if args.quick else args.seeds))
    python, tsb_status = (None, "disabled with --no-tsb-ad") if args.no_tsb_ad else ensure_tsb_ad()
    if python is None:
        print(f"TSB-AD peers skipped: {tsb_status}. Going on with COMET and the PyOD peers.", flush=True)
    window = vus_window()

    results: list[Result] = []
    notes: list[str] = []
    for seed in seeds:
        methods = local_methods(args.quick, args.window, seed)
        for dataset, load in datasets.items():
            series = load(seed)
            n_train = len(series.train)
            prefix = n_train <= len(series.test) and np.array_equal(series.test[:n_train], series.train)
            print(f"seed {seed}, {dataset}: train {series.train.shape}, test {series.test.shape}, "
                  f"{int(np.sum(series.test_labels))} anomalous test points"
                  + (" (test is the whole series, train prefix included: UCR / TSB-AD convention)" if prefix else ""),
                  flush=True)  # fmt: skip
            rows = []
            for name, factory in methods.items():
                rows.append(run_local(dataset, name, factory, series, seed))
                print(f"  {name}: fit {rows[-1].fit_s:.1f} s, score {rows[-1].score_s:.1f} s", flush=True)
            if python is not None:
                peers, note = run_tsb_ad(python, dataset, series, rows, window)
                for peer in peers:
                    peer.seed = seed
                    print(f"  {peer.method}: fit {peer.fit_s:.1f} s, score {peer.score_s:.1f} s", flush=True)
                rows += peers
                if note:
                    notes.append(f"seed {seed}, {dataset}: {note}")
                    print(f"  {note}", flush=True)
            for row in rows:
                row.metrics = metrics_row(series.test_labels, row.scores)
                print(f"  {row.method}: VUS-PR {row.metrics['vus_pr']:.3f}, point F1 {row.metrics['point_f1']:.3f}",
                      flush=True)  # fmt: skip
            results += rows

    print_results(results, python is not None, window)
    print(f"\nTSB-AD: {tsb_status}; threads per method: {args.threads or 'library default'}")
    for note in notes:
        print(f"note: {note}")
    elapsed = time.perf_counter() - started
    print(f"total {elapsed:.0f} s")
    if args.json:
        payload = {
            "rows": [r.row() for r in results],
            "tsb_ad": tsb_status,
            "vus_window": window,
            "notes": notes,
            "quick": args.quick,
            "seeds": seeds,
            "pyod_window": args.window,
            "threads": args.threads,
            "elapsed_s": elapsed,
        }
        args.json.write_text(json.dumps(payload, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
