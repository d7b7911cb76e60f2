"""Runs TSB-AD peers and TSB-AD's own metrics, inside the ``tsb-ad`` virtual environment (numpy < 2).

Called by ``bench/timeseries_accuracy.py`` with that environment's python, never imported by it.
Reads from ``WORKDIR``: ``train.npy`` and ``test.npy`` (float64 ``(T, C)``, already z-scored with
the train split's statistics), ``labels.npy`` (int ``(T_test,)``) and ``scores/<key>.npy`` (other
methods' per-point test scores). Writes ``tsb_scores/<algorithm>.npy`` and ``result.json``::

    {"algorithms": {name: {"fit_s", "score_s", "window", "params"} | {"error"}},
     "metrics": {key: {"VUS-PR", "VUS-ROC", "AUC-ROC", "AUC-PR", "Standard-F1", "VUS-PR@W", "VUS-ROC@W"}
                      | {"error"}},
     "versions": {...}}

Metrics: our ``vus_pr(sliding_window=W)`` averages over buffer lengths ``0 .. 2W`` (the VUS
package's ``generate_curve(labels, score, 2 * slidingWindow)``), while TSB-AD 1.5's
``get_metrics(slidingWindow=W)`` averages over ``0 .. W``. So ``get_metrics`` is called with
``slidingWindow=2W`` (the same surface as ours), and ``VUS-PR@W`` / ``VUS-ROC@W`` give TSB-AD's
value for the literal same argument ``W``.

Every peer is fitted on ``train`` only and scores ``test`` (no labels, no test data at fit time).
Hyper-parameters are TSB-AD's published optima (``TSB_AD.HP_list``): the ``Sub_*`` variants with a
period-based window for a univariate series, and the multivariate variants otherwise.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

METRIC_KEYS = ("VUS-PR", "VUS-ROC", "AUC-ROC", "AUC-PR", "Standard-F1")


def _period(train: np.ndarray, rank: int) -> int:
    """TSB-AD's dominant-period window of a univariate series (``find_length_rank``), from train only."""
    from TSB_AD.utils.slidingWindows import find_length_rank

    return int(find_length_rank(train[:, :1], rank=rank))


def _build(name: str, train: np.ndarray) -> tuple[Any, int, dict[str, Any]]:
    """A TSB-AD model object for ``name``, its window and hyper-parameters.

    ``IForest`` is built with ``normalize=False``: its ``fit`` z-scores the windows but its
    ``decision_function`` does not, so scoring held-out data would mix two scales. The inputs are
    already z-scored with the train statistics, which is what that normalisation amounts to.
    """
    from TSB_AD.HP_list import Optimal_Multi_algo_HP_dict, Optimal_Uni_algo_HP_dict

    univariate = train.shape[1] == 1
    base = name.removeprefix("Sub_")
    if univariate:
        params = dict(Optimal_Uni_algo_HP_dict[f"Sub_{base}"])
        window = _period(train, int(params.pop("periodicity", 1)))
    else:
        params = dict(Optimal_Multi_algo_HP_dict[base])
        window = {"IForest": 100, "PCA": 100}.get(base, 1)  # run_IForest / run_PCA / run_HBOS defaults
    if base == "IForest":
        from TSB_AD.models.IForest import IForest

        return IForest(slidingWindow=window, normalize=False, **params), window, params
    if base == "PCA":
        from TSB_AD.models.PCA import PCA

        return PCA(slidingWindow=window, **params), window, params
    if base == "HBOS":
        from TSB_AD.models.HBOS import HBOS

        return HBOS(slidingWindow=window, **params), window, params
    raise ValueError(f"unsupported TSB-AD algorithm {name!r} (IForest, PCA, HBOS)")


def run_algorithm(name: str, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit ``name`` on ``train``, score ``test``; returns per-point scores ``(T_test,)`` and timings."""
    model, window, params = _build(name, train)
    started = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scores = np.asarray(model.decision_function(test), dtype=np.float64).ravel()
    score_s = time.perf_counter() - started
    if scores.shape != (len(test),):
        raise ValueError(f"{name} returned {scores.shape} scores for {len(test)} test points")
    return scores, {"fit_s": fit_s, "score_s": score_s, "window": window, "params": params}


def tsb_metrics(scores: np.ndarray, labels: np.ndarray, window: int) -> dict[str, float]:
    """TSB-AD's ``get_metrics`` on buffers ``0 .. 2 * window`` (as ours), and its VUS on ``0 .. window``."""
    from TSB_AD.evaluation.basic_metrics import generate_curve
    from TSB_AD.evaluation.metrics import get_metrics

    out = get_metrics(scores, labels, slidingWindow=2 * window)
    result = {key: float(out[key]) for key in METRIC_KEYS}
    *_, vus_roc, vus_pr = generate_curve(labels, scores, window)
    return {**result, "VUS-PR@W": float(vus_pr), "VUS-ROC@W": float(vus_roc)}


def _guard(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except Exception as error:  # report and go on: one broken peer must not hide the others
        return {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--algorithms", nargs="*", default=[])
    parser.add_argument("--vus-window", type=int, required=True, help="VUS buffer length (ours).")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    work: Path = args.workdir
    train, test = np.load(work / "train.npy"), np.load(work / "test.npy")
    labels = np.load(work / "labels.npy").astype(int)
    (work / "tsb_scores").mkdir(exist_ok=True)

    algorithms: dict[str, dict[str, Any]] = {}
    for name in args.algorithms:

        def fit_and_score(name: str = name) -> dict[str, Any]:
            scores, info = run_algorithm(name, train, test)
            np.save(work / "tsb_scores" / f"{name}.npy", scores)
            return info

        algorithms[name] = _guard(fit_and_score)

    metrics: dict[str, dict[str, Any]] = {}
    for path in sorted((work / "scores").glob("*.npy")) + sorted((work / "tsb_scores").glob("*.npy")):
        key = path.stem if path.parent.name == "scores" else f"tsb:{path.stem}"
        metrics[key] = _guard(lambda path=path: tsb_metrics(np.load(path), labels, args.vus_window))

    import sklearn
    import TSB_AD  # noqa: F401

    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__}
    try:
        from importlib.metadata import version

        versions["tsb-ad"] = version("tsb-ad")
    except Exception:  # metadata missing: report what we can
        versions["tsb-ad"] = "unknown"
    result = {"algorithms": algorithms, "metrics": metrics, "versions": versions}
    (work / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
