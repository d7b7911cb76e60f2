"""How ContraLog's scoring options were chosen: on validation data of validation seeds only.

For each data set (generated HDFS-like and BGL-like, the real dpkg log with injected anomalies) and each
*validation* seed (default 101, 102; ``bench/logs.py`` reports seeds 1-5, which no choice here sees),
ContraLog is fitted on the training part's normal sessions in each architecture arm (next-message vs
two-sided masked context, field model on / off), and the scoring weights are re-scored without
refitting: ``second_weight`` (share of the second-highest line), ``repeat_weight`` (repetition score)
and ``field_weight`` (field score). The criterion is AUPRC on the *validation* part (labelled, never the
test part), averaged over sets and seeds; the table lists every candidate, best first.

Run: ``python bench/logs_select.py [--quick] [--seeds 101,102] [--sets hdfs,bgl,real]``
"""

from __future__ import annotations

import argparse
import itertools

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table
from logs import datasets

ARMS = {"next + fields": {}, "masked + fields": {"context": "masked"}, "next, no fields": {"fields": False}}
WEIGHTS = {"second_weight": (0.0, 0.25), "repeat_weight": (0.0, 0.5), "field_weight": (0.5, 1.0)}


def main() -> None:
    from sklearn.metrics import average_precision_score

    from services.logs.data import DPKG_SAMPLE
    from services.logs.detectors.contralog import ContraLogDetector

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small generated sets and short training")
    parser.add_argument("--seeds", default="101,102", help="comma-separated validation data seeds")
    parser.add_argument("--sets", default="hdfs,bgl,real", help="comma-separated: hdfs, bgl, real")
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps = 200 if args.quick else 600
    results: dict[tuple[str, tuple[float, ...]], list[float]] = {}
    for kind, seed in itertools.product(args.sets.split(","), [int(s) for s in args.seeds.split(",")]):
        train, validation, _ = datasets(kind, seed, args.quick, DPKG_SAMPLE).split()
        for arm, overrides in ARMS.items():
            detector = ContraLogDetector({"train_steps": steps, **overrides}).fit(train.normal())
            base = detector.config
            for values in itertools.product(*WEIGHTS.values()):
                detector.config = base.model_copy(update=dict(zip(WEIGHTS, values, strict=True)))
                if not base.fields and values[2] != WEIGHTS["field_weight"][-1]:
                    continue  # no field score to weigh
                auprc = float(average_precision_score(validation.labels, detector.score(validation.sessions)))
                results.setdefault((arm, values), []).append(auprc)
                print(f"  {kind} seed {seed} / {arm} {values}: validation AUPRC {auprc:.3f}", flush=True)
    rows = sorted(([arm, *map(str, values), f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}",
                    f"{np.min(v):.3f}"] for (arm, values), v in results.items()), key=lambda r: r[-2], reverse=True)
    print_table(f"ContraLog options on validation parts, sets {args.sets}, validation seeds {args.seeds}",
                ["arm", *WEIGHTS, "validation AUPRC (mean ± sd)", "worst"], rows)


if __name__ == "__main__":
    main()
