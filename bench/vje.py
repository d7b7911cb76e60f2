"""VJE on the Fashion-MNIST one-class protocol, against PyOD DeepSVDD and kNN on a plain non-contrastive encoder.

Protocol: each class in turn is normal; models train on a fixed-seed subsample of that class's training images;
the test set is a fixed-seed subsample of the 10000 test images, every other class anomalous. ``--validate``
scores the validation split instead (drawn from the *training* split, half normal, half other classes): every
choice (epochs, degrees of freedom, scoring prior, augmentation) is made with it, never with the test figures.

Columns: VJE (Student-t, polar) and its two ablations (Gaussian likelihood; Cartesian instead of polar), all on
the same encoder (frozen pretrained EfficientNet-Lite0 trunk + a projector trained by the objective) and the
same precomputed augmented views; ``plain+kNN``: kNN (k=5, cosine) on the embeddings of the same projector
trained for the same epochs on the same views with a plain non-contrastive objective (mean squared difference of
the standardised embeddings of two views); ``trunk kNN``: kNN on the frozen trunk's features, no training (what
the pretrained trunk alone gives); ``DeepSVDD``: PyOD's DeepSVDD on raw pixels (its defaults, ``--svdd-epochs``).
Image AUROC per class, mean ± sd over seeds (population sd of the per-seed means).

Data: Debian ``dataset-fashion-mnist`` (or ``--data`` / ``$POLYAD_FASHION_MNIST``).
Run: ``python bench/vje.py [--quick] [--train 300] [--test 1000] [--seeds 0 1 2] [--validate] [--set nu=10]``
"""

from __future__ import annotations

import argparse
import json
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from _common import print_table
from sklearn.metrics import roc_auc_score

from services.vision.detectors.vje import VJEDetector
from services.vision.detectors.vje.detector import pair_batches
from services.vision.detectors.vje.model import Projector
from services.vision.fashion_mnist import CLASSES, load_fashion_mnist, one_class_split, to_rgb

VARIANTS = {"VJE": {}, "VJE Gaussian": {"likelihood": "gaussian"}, "VJE Cartesian": {"representation": "cartesian"}}
METHODS = (*VARIANTS, "plain+kNN", "trunk kNN", "DeepSVDD")


def knn_scores(bank: torch.Tensor, queries: torch.Tensor, k: int = 5) -> np.ndarray:
    """Mean cosine distance ``(n_queries,)`` of each query ``(n, D)`` to its ``k`` nearest bank rows ``(m, D)``."""
    bank, queries = F.normalize(bank, dim=1), F.normalize(queries, dim=1)
    return (1.0 - (queries @ bank.T).topk(min(k, len(bank)), dim=1).values.mean(1)).numpy()


def plain_knn(detector: VJEDetector, views: torch.Tensor, plain: torch.Tensor, test: torch.Tensor) -> np.ndarray:
    """kNN scores on the same projector trained on the same view features ``(V, N, C)`` with the plain loss."""
    cfg = detector.config
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    projector = Projector(views.shape[-1], detector.embed_dim, cfg.hidden)
    optimiser = torch.optim.AdamW(projector.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = views.shape[1] // min(cfg.batch_size, views.shape[1])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.epochs * steps)
    for _ in range(cfg.epochs):
        for f_a, f_b in pair_batches(views, cfg, generator):
            h_a, h_b = projector(torch.cat([f_a, f_b])).chunk(2)
            loss = (h_a - h_b).pow(2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    projector.eval()
    with torch.no_grad():
        return knn_scores(projector(plain), projector(test))


def deep_svdd(train: np.ndarray, test: np.ndarray, epochs: int, seed: int) -> np.ndarray:
    """PyOD DeepSVDD on flattened pixels in [0, 1]."""
    from pyod.models.deep_svdd import DeepSVDD

    flat = train.reshape(len(train), -1).astype(np.float32) / 255.0
    model = DeepSVDD(n_features=flat.shape[1], epochs=epochs, verbose=0, random_state=seed, preprocessing=False)
    model.fit(flat)
    return model.decision_function(test.reshape(len(test), -1).astype(np.float32) / 255.0)


def run_class(data: tuple, c: int, seed: int, args: argparse.Namespace) -> dict[str, float]:
    """AUROC of every method for normal class ``c`` and split seed ``seed``."""
    split = one_class_split(c, n_train=args.train, n_val=args.val, n_test=args.test, seed=seed, data=data)
    images, labels = (split.val, split.val_labels) if args.validate else (split.test, split.test_labels)
    base = VJEDetector(seed=seed, epochs=args.epochs, **args.overrides)
    x, xt = base._preprocess(to_rgb(split.train)), base._preprocess(to_rgb(images))
    views, plain = base.view_features(x), base.features(x)
    ft = base.features(xt)
    ft_other = ft if base.config.test_view == "same" else base.features(xt.flip(-1))
    out = {}
    for name, overrides in VARIANTS.items():
        detector = VJEDetector(seed=seed, epochs=args.epochs, **{**args.overrides, **overrides})
        detector.fit_features(views, plain)
        out[name] = roc_auc_score(labels, detector.nll_features(ft, ft_other).numpy())
    out["plain+kNN"] = roc_auc_score(labels, plain_knn(base, views, plain, ft))
    out["trunk kNN"] = roc_auc_score(labels, knn_scores(plain, ft))
    out["DeepSVDD"] = roc_auc_score(labels, deep_svdd(split.train, images, args.svdd_epochs, seed))
    return out


def select(data: tuple, args: argparse.Namespace) -> None:
    """``--grid``: VJE validation AUROC of each configuration (view features computed once per class and seed, so
    options that change the views or the trunk -- ``views``, ``augment_strength``, ``layers`` -- go in ``--set``)."""
    grid = [{key: json.loads(value) for key, value in (item.split("=", 1) for item in entry.split(","))}
            for entry in args.grid]
    table = {json.dumps(g): [] for g in grid}
    for seed in args.seeds:
        for c in args.classes:
            split = one_class_split(c, n_train=args.train, n_val=args.val, n_test=0, seed=seed, data=data)
            base = VJEDetector(seed=seed, **args.overrides)
            x, xv = base._preprocess(to_rgb(split.train)), base._preprocess(to_rgb(split.val))
            views, plain, fv = base.view_features(x), base.features(x), base.features(xv)
            fv_flipped = base.features(xv.flip(-1))
            for g in grid:
                detector = VJEDetector(seed=seed, **{**args.overrides, **g})
                detector.fit_features(views, plain)
                other = fv if detector.config.test_view == "same" else fv_flipped
                table[json.dumps(g)].append(roc_auc_score(split.val_labels, detector.nll_features(fv, other).numpy()))
    rows = [[key, *(f"{v:.3f}" for v in values), f"{np.mean(values):.3f}"] for key, values in table.items()]
    print_table(f"VJE validation AUROC ({args.train} train / {args.val} validation images; seeds {args.seeds})",
                ["configuration", *(f"s{s} c{c}" for s in args.seeds for c in args.classes), "mean"], rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder with the four Fashion-MNIST idx files (default: the Debian path)")
    parser.add_argument("--train", type=int, default=300, help="normal training images per class (seeded subsample)")
    parser.add_argument("--val", type=int, default=400, help="validation images per class (from the training split)")
    parser.add_argument("--test", type=int, default=1000, help="test images (seeded subsample of the 10000)")
    parser.add_argument("--epochs", type=int, default=VJEDetector.Config().epochs, help="epochs of VJE and plain")
    parser.add_argument("--svdd-epochs", type=int, default=100, help="epochs of PyOD DeepSVDD (its default: 100)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--validate", action="store_true", help="score the validation split (for choices)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="VJE config override")
    parser.add_argument("--grid", nargs="+", metavar="KEY=JSON[,KEY=JSON]",
                        help="compare VJE configurations on the validation split only (model selection)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 on a loaded machine)")
    parser.add_argument("--quick", action="store_true", help="one seed, 100 train / 300 test images")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.train, args.test, args.val, args.svdd_epochs = [0], 100, 300, 100, 20
    args.overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    data = (*load_fashion_mnist("train", args.data), *load_fashion_mnist("test", args.data))
    if args.grid:
        select(data, args)
        return
    started = time.perf_counter()
    results = {c: {m: [] for m in METHODS} for c in args.classes}
    for seed in args.seeds:
        for c in args.classes:
            for method, auroc in run_class(data, c, seed, args).items():
                results[c][method].append(auroc)
            print(f"seed {seed} class {c} done ({time.perf_counter() - started:.0f} s)", flush=True)

    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.3f}" + (f" ± {np.std(values):.3f}" if len(values) > 1 else "")

    rows = [[f"{c} {CLASSES[c]}", *(cell(results[c][m]) for m in METHODS)] for c in args.classes]
    per_seed = {m: [np.mean([results[c][m][i] for c in args.classes]) for i in range(len(args.seeds))]
                for m in METHODS}
    rows.append(["mean", *(cell(per_seed[m]) for m in METHODS)])
    where = "VALIDATION split" if args.validate else f"{args.test} test images"
    print_table(
        f"Fashion-MNIST one-class image AUROC ({args.train} train images per class, {where}; seeded subsample; "
        f"{args.epochs} epochs; overrides {args.overrides}; seeds {args.seeds}; {time.perf_counter() - started:.0f} s)",
        ["normal class", *METHODS], rows,
    )


if __name__ == "__main__":
    main()
