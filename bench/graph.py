"""Graph anomaly detection: ego-diffusion vs its ablations and PyGOD peers on held-out later snapshots; scale.

Accuracy: every method scores the test snapshots (later in time, carrying the *rewired* anomaly type
that no training snapshot has). The ego-diffusion variants are fitted once on the labelled training
snapshots and score the later ones inductively; the PyGOD peers (DOMINANT, AnomalyDAE; unsupervised,
transductive) are fitted on each test snapshot itself. AUROC / AUPRC overall and on normals +
unseen-type anomalies alone.

Scale: a fresh process loads the trained full-framework model and scores random DC-SBM graphs of
10k nodes / 100k edges and 100k nodes / 1M edges (scores for every node; evidence for the top 10),
reporting seconds and peak RSS.

Run: ``python bench/graph.py [--datasets sbm minnesota] [--quick] [--pygod-epochs 100] [--no-scale | --scale-only]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import torch
from _common import ROOT, print_table

SCALE_PROBE = """
import json, resource, sys, time, numpy as np, torch
torch.set_num_threads(2)
from dataclasses import replace
from services.graph.batch import GraphBatch
from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
detector = EgoDiffusionDetector.load(sys.argv[1])
out = []
for n, e in ((10_000, 100_000), (100_000, 1_000_000)):
    rng = np.random.default_rng(0)
    blocks = rng.integers(8, size=n)
    x = rng.normal(0, 1, (8, detector.n_features))[blocks] + rng.normal(0, 0.7, (n, detector.n_features))
    src = rng.integers(0, n, e)
    same = rng.random(e) < 0.9
    order = np.argsort(blocks, kind="stable")
    starts = np.searchsorted(blocks[order], np.arange(9))
    b = blocks[src]
    dst = np.where(same, order[starts[b] + (rng.random(e) * (starts[b + 1] - starts[b])).astype(np.int64)],
                   rng.integers(0, n, e))
    batch = GraphBatch(x=x.astype(np.float32), edge_index=np.stack([src, dst]), explain_top_k=10)
    started = time.perf_counter()
    scores = detector.score(batch)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    detector.score_and_explain(batch)
    explain_s = time.perf_counter() - started
    out.append({"nodes": n, "edges": e, "score_s": score_s, "explain_s": explain_s, "scored": int(scores.size)})
print(json.dumps({"runs": out, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}))
"""


class _FullBatch:
    """Stands in for PyG's NeighborLoader inside PyGOD (it needs pyg-lib or torch-sparse, absent here):
    PyGOD's default ``batch_size=0`` / ``num_neigh=-1`` means one full-graph batch anyway."""

    def __init__(self, data, num_neighbors, batch_size):  # type: ignore[no-untyped-def]
        self.data = data

    def __iter__(self):  # type: ignore[no-untyped-def]
        data = self.data.clone()
        data.batch_size, data.n_id = data.num_nodes, torch.arange(data.num_nodes)
        return iter([data])


def pygod_scorer(name: str, epochs: int):  # type: ignore[no-untyped-def]
    """``score(batch)``: fit the PyGOD detector on the snapshot itself, return its decision scores."""
    import pygod.detector as detectors
    import pygod.detector.base as base
    from torch_geometric.data import Data

    base.NeighborLoader = _FullBatch

    def score(batch):  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        data = Data(x=torch.from_numpy(batch.x), edge_index=torch.from_numpy(batch.edge_index))
        model = getattr(detectors, name)(epoch=epochs, verbose=0)
        model.fit(data)
        return model.decision_score_.numpy()

    return score


def main() -> None:
    from services.graph.data import load_dataset
    from services.graph.detectors.ego_diffusion import EgoDiffusionDetector
    from services.graph.experiments import VARIANTS, run_unsupervised, run_variant, training_data

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["sbm"])
    parser.add_argument("--quick", action="store_true", help="8 epochs, 120 diffusion steps, PyGOD 20 epochs")
    parser.add_argument("--pygod-epochs", type=int, default=100)
    parser.add_argument("--no-scale", action="store_true", help="skip the scoring-time / memory part")
    parser.add_argument("--scale-only", action="store_true", help="skip the accuracy part")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    quick = {"epochs": 8, "diffusion_train_steps": 120, "synthetic_per_epoch": 48} if args.quick else {}
    pygod_epochs = 20 if args.quick else args.pygod_epochs
    rows, records = [], []
    for name in [] if args.scale_only else args.datasets:
        data = load_dataset(name)
        results = {label: run_variant(data, {**quick, **overrides}) for label, overrides in VARIANTS.items()}
        for peer in ("DOMINANT", "AnomalyDAE"):
            results[f"PyGOD {peer}"] = run_unsupervised(data, pygod_scorer(peer, pygod_epochs))
        for label, r in results.items():
            print(f"  {name}/{label}: {json.dumps({k: round(v, 4) for k, v in r.items()})}", flush=True)
            records.append({"dataset": name, "method": label, **r})
            rows.append([name, label, *(f"{r[k]:.3f}" for k in ("auroc", "auprc", "unseen_auroc", "unseen_auprc")),
                         f"{r['fit_s']:.0f}"])
    if rows:
        print_table("Held-out later snapshots (train: clique + contextual anomalies; test adds unseen 'rewired')",
                    ["data set", "method", "AUROC", "AUPRC", "unseen AUROC", "unseen AUPRC", "fit s"], rows)
    if not args.no_scale:
        detector = EgoDiffusionDetector({**quick}).fit(training_data(load_dataset("sbm"))[0])
        with tempfile.TemporaryDirectory() as folder:
            detector.save(folder)
            started = time.perf_counter()
            probe = subprocess.run([sys.executable, "-c", SCALE_PROBE, folder], cwd=ROOT, check=True,
                                   capture_output=True, text=True)
            print(f"  scale probe ran {time.perf_counter() - started:.0f} s", flush=True)
        report = json.loads(probe.stdout.strip().splitlines()[-1])
        scale_rows = [[f"{r['nodes']:,}", f"{r['edges']:,}", f"{r['score_s']:.1f}", f"{r['explain_s']:.1f}"]
                      for r in report["runs"]]
        print_table(f"Scoring every node on 2 CPU cores (peak RSS of the process {report['peak_rss_gib']:.2f} GiB)",
                    ["nodes", "edges", "score s", "score + evidence (top 10) s"], scale_rows)
        records.append({"scale": report})
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(records, handle, indent=2)


if __name__ == "__main__":
    main()
