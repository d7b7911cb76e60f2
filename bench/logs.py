"""Logs: ContraLog against DeepLog, a parameter-value model and template-count PCA / Isolation Forest,
over several data seeds, on generated HDFS-like / BGL-like logs and on a real dpkg log with injected
anomalies.

Data sets (each rebuilt per data seed): generated HDFS-like (sessions by block id) and BGL-like (20-line
windows); and the real ``dpkg.log`` of the Debian image this suite was built on (``services/logs/samples``,
or ``--real-log PATH``), sessions of one package on one day, with about 6 % of sessions made anomalous
by :mod:`services.logs.injection` (an unseen failure line, reordered or missing steps, an abnormal
version value; the seed picks sessions and kinds; the log itself is fixed). Every set is split
chronologically 60/20/20 at its natural anomaly rate; every method fits on the training part's normal
sessions, its threshold comes from the validation part's normal sessions through the conformal
calibrator (``services.logs.evaluation``), and the test part is scored once. Every configuration
choice of ContraLog was made on the validation seeds of ``bench/logs_select.py`` (101-103), never
on these seeds. Rows give mean ± sd over the data seeds; the headline is the mean.

Then (unless ``--skip-stream``) the first seed's HDFS-like ContraLog is served by the real logs service
(inline backend) and a client streams the test log through ``StreamDetect``: lines/s end to end, and
the peak RSS of a fresh process that loads the model and stream-scores 20,000 lines.

Run: ``python bench/logs.py [--quick] [--seeds 1,2,3,4,5] [--sets hdfs,bgl,real] [--minilm] [--ablations]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table
from _logs_stream import RSS_PROBE, stream_throughput

Method = tuple[Callable[[np.ndarray], object], Callable[[object, np.ndarray], np.ndarray]]


def _contralog(steps: int, **overrides: object) -> Method:
    from services.logs.detectors.contralog import ContraLogDetector

    return (lambda x: ContraLogDetector({"train_steps": steps, **overrides}).fit(x), lambda m, x: m.score(x))


def methods(steps: int, minilm: bool, ablations: bool) -> dict[str, Method]:
    """name → (fit(normal sessions) -> model, score(model, sessions) -> scores)."""
    from services.logs.baselines import DeepLog, TemplateCountModel, ValueModel

    def plain(make: Callable[[], object]) -> Method:
        return (lambda x: make().fit(x), lambda m, x: m.score(x))

    from services.logs.detectors.contralog.config import ContraLogConfig

    default = ContraLogConfig().context
    table = {f"ContraLog (default: {default} context)": _contralog(steps)}
    if ablations:
        other = "masked" if default == "next" else "next"
        table[f"ContraLog, {other} context"] = _contralog(steps, context=other)
        table["ContraLog, no field model"] = _contralog(steps, fields=False)
    if minilm:
        table["ContraLog (MiniLM encoder)"] = _contralog(steps, message_encoder="minilm")
    table.update({
        "DeepLog keys only (Drain3 + LSTM)": plain(DeepLog),
        "DeepLog keys + value model": plain(lambda: DeepLog(values=True)),
        "Drain3 value model alone": plain(ValueModel),
        "PCA on template counts": plain(lambda: TemplateCountModel("pca")),
        "IForest on template counts": plain(lambda: TemplateCountModel("iforest")),
    })
    return table


def datasets(kind: str, seed: int, quick: bool, real_log: Path):  # type: ignore[no-untyped-def]
    """One data set of ``kind`` for ``seed`` (see :func:`injected_kinds` for the real set's anomaly kinds)."""
    from services.logs.data import generated_bgl, generated_hdfs, load_dpkg
    from services.logs.injection import inject

    if kind == "hdfs":
        return generated_hdfs(2000 if quick else 6000, seed=seed)
    if kind == "bgl":
        return generated_bgl(40_000 if quick else 120_000, seed=seed)
    return inject(load_dpkg(real_log), 0.06, seed=seed)[0]


def injected_kinds(seed: int, real_log: Path) -> list[str]:
    """The injected kind of each session of the real set for ``seed`` ("" = normal)."""
    from services.logs.data import load_dpkg
    from services.logs.injection import inject

    return inject(load_dpkg(real_log), 0.06, seed=seed)[1]


def normal_above(model: object, data, kinds: list[str]) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Per injected kind: for each such test session, the share of normal test sessions scored above it."""
    _, _, test = data.split()
    scores = np.asarray(model.score(test.sessions), np.float64)  # type: ignore[attr-defined]
    normal = scores[test.labels == 0]
    offset = len(data.sessions) - len(test.sessions)
    out: dict[str, list[float]] = {}
    for i in np.flatnonzero(test.labels):
        out.setdefault(kinds[offset + i], []).append(float((normal > scores[i]).mean()))
    return out


def _mean_sd(values: list[float]) -> str:
    array = np.asarray(values, np.float64)
    return f"{array.mean():.3f} ± {array.std(ddof=1) if len(array) > 1 else 0.0:.3f}"


def main() -> None:
    from services.logs.data import DPKG_SAMPLE
    from services.logs.evaluation import evaluate_method

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small generated sets, short training, 2 seeds")
    parser.add_argument("--seeds", default="", help="comma-separated data seeds (default 1,2,3,4,5; quick: 1,2)")
    parser.add_argument("--sets", default="hdfs,bgl,real", help="comma-separated: hdfs, bgl, real")
    parser.add_argument("--real-log", type=Path, default=DPKG_SAMPLE, help="a dpkg.log (plain or .gz)")
    parser.add_argument("--minilm", action="store_true", help="add the MiniLM-encoder arm (slow on CPU)")
    parser.add_argument("--ablations", action="store_true",
                        help="add ContraLog with the other context (next / two-sided masked) and without field model")
    parser.add_argument("--skip-stream", action="store_true", help="leave out the StreamDetect throughput run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in (args.seeds or ("1,2" if args.quick else "1,2,3,4,5")).split(",")]
    steps = 200 if args.quick else 600
    rows, first_model, first_hdfs = [], None, None
    by_kind: dict[tuple[str, str], list[float]] = {}
    for kind in args.sets.split(","):
        results: dict[str, list[dict[str, float]]] = {}
        name = kind
        for seed in seeds:
            data = datasets(kind, seed, args.quick, args.real_log)
            name = data.name.split("+")[0]
            for method, (fit, score) in methods(steps, args.minilm, args.ablations).items():
                captured: dict[str, object] = {}

                def fit_and_keep(x, fit=fit, captured=captured):  # type: ignore[no-untyped-def]
                    captured["model"] = fit(x)
                    return captured["model"]

                row = evaluate_method(fit_and_keep, score, data)
                results.setdefault(method, []).append(row)
                if kind == "hdfs" and first_model is None and method.startswith("ContraLog (default"):
                    first_model, first_hdfs = captured["model"], data
                if kind == "real":
                    for injected, shares in normal_above(captured["model"], data,
                                                         injected_kinds(seed, args.real_log)).items():
                        by_kind.setdefault((method, injected), []).extend(shares)
                print(f"  {name} seed {seed} / {method}: F1 {row['f1']:.3f} AUPRC {row['auprc']:.3f} "
                      f"({int(row['test_anomalies'])} anomalous of {int(row['test_sessions'])})", flush=True)
        for method, runs in results.items():
            quality = (_mean_sd([r[k] for r in runs]) for k in ("precision", "recall", "f1", "auprc"))
            speed = (f"{np.mean([r[k] for r in runs]):.0f}" for k in ("fit_s", "lines_per_s"))
            rows.append([name, method, *quality, *speed])
    rss = None
    if first_model is not None and not args.skip_stream:
        rate, rss = _stream(first_model, first_hdfs)
        rows.append([first_hdfs.name, "StreamDetect, ContraLog (gRPC)", "", "", "", "", "", f"{rate:.0f}"])
    if by_kind:
        kinds = sorted({k for _, k in by_kind})
        print_table("Real set: share of normal test sessions ranked above an injected session, mean over all "
                    "seeds' injected sessions of each kind (0 = above every normal session)",
                    ["method", *kinds], [[m, *(f"{np.mean(by_kind.get((m, k), [np.nan])):.3f}" for k in kinds)]
                                         for m in dict.fromkeys(m for m, _ in by_kind)])
    print_table(
        f"Logs, mean ± sd over data seeds {seeds}: chronological 60/20/20 split, natural anomaly rate, threshold "
        "from validation normal sessions (conformal, alpha 0.002)"
        + (f"; streaming replica peak RSS {rss:.0f} MiB" if rss is not None else ""),
        ["data set", "method", "precision", "recall", "F1", "AUPRC", "fit s", "lines/s"],
        rows,
    )


def _stream(model: object, dataset) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(StreamDetect lines/s over gRPC, peak RSS MiB of a streaming replica) for a fitted ContraLog."""
    from safetensors.numpy import save_file

    from services.core.store import CALIBRATION_FILE

    _, validation, test = dataset.split()
    with tempfile.TemporaryDirectory() as folder:
        model.save(folder)  # type: ignore[attr-defined]
        calibration = np.sort(model.score(validation.normal())).astype(np.float64)  # type: ignore[attr-defined]
        save_file({"calibration_scores": calibration}, str(Path(folder) / CALIBRATION_FILE))
        rate = stream_throughput(Path(folder), test.sessions)
        root = Path(__file__).resolve().parents[1]
        probe = subprocess.run([sys.executable, "-c", RSS_PROBE, folder], cwd=root, check=True,
                               capture_output=True, text=True)
    return rate, float(probe.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
