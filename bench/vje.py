"""VJE on the Fashion-MNIST one-class protocol, against PyOD DeepSVDD and kNN on a plain non-contrastive encoder.

Protocol: each class in turn is normal; models train on (a fixed-seed subsample of) that class's training
images; the test set is a fixed-seed subsample of the 10000 test images, every other class anomalous.
Columns: VJE (Student-t, polar), two ablations (Gaussian likelihood; Cartesian instead of polar), kNN
(k=5, cosine) on the embeddings of the same encoder trained for the same epochs with a plain non-contrastive
objective (mean squared difference of the batch-standardised embeddings of the two views), and PyOD's
DeepSVDD on the raw pixels. Image AUROC per class, mean ± sd over seeds. No choice is made on test data.

Data: Debian ``dataset-fashion-mnist`` (or ``--data`` / ``$POLYAD_FASHION_MNIST``).
Run: ``python bench/vje.py [--train 600] [--test 1000] [--epochs 8] [--seeds 0] [--classes 0 1 ...]``
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from _common import print_table
from sklearn.metrics import roc_auc_score

from services.vision.detectors.vje import VJEDetector
from services.vision.detectors.vje.model import ConvEncoder, augment
from services.vision.fashion_mnist import CLASSES, load_fashion_mnist, one_class_split, to_rgb

METHODS = ("VJE", "VJE Gaussian", "VJE Cartesian", "plain+kNN", "DeepSVDD")


def plain_knn(detector: VJEDetector, train: np.ndarray, test: np.ndarray, k: int = 5) -> np.ndarray:
    """kNN scores ``(n_test,)`` on a same-architecture encoder trained with the plain non-contrastive loss."""
    cfg = detector.config
    x, xt = detector._preprocess(train), detector._preprocess(test)
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    encoder = ConvEncoder(cfg.embed_dim, cfg.width)
    optimiser = torch.optim.AdamW(encoder.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = max(1, len(x) // cfg.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.epochs * steps)
    for _ in range(cfg.epochs):
        order = torch.randperm(len(x), generator=generator)
        for step in range(steps):
            batch = x[order[step * cfg.batch_size: (step + 1) * cfg.batch_size]]
            h = encoder(torch.cat([augment(batch, generator), augment(batch, generator)]))
            loss = (h.chunk(2)[0] - h.chunk(2)[1]).pow(2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    encoder.eval()
    with torch.no_grad():
        bank, queries = F.normalize(encoder(x), dim=1), F.normalize(encoder(xt), dim=1)
    return (1.0 - (queries @ bank.T).topk(min(k, len(bank)), dim=1).values.mean(1)).numpy()


def deep_svdd(train: np.ndarray, test: np.ndarray, epochs: int, seed: int) -> np.ndarray:
    """PyOD DeepSVDD on flattened pixels in [0, 1]."""
    from pyod.models.deep_svdd import DeepSVDD

    flat = train.reshape(len(train), -1).astype(np.float32) / 255.0
    model = DeepSVDD(n_features=flat.shape[1], epochs=epochs, verbose=0, random_state=seed, preprocessing=False)
    model.fit(flat)
    return model.decision_function(test.reshape(len(test), -1).astype(np.float32) / 255.0)


def run_class(data: tuple, c: int, seed: int, args: argparse.Namespace) -> dict[str, float]:
    split = one_class_split(c, n_train=args.train, n_test=args.test, seed=seed, data=data)
    train, test, labels = to_rgb(split.train), to_rgb(split.test), split.test_labels
    out = {}
    for name, overrides in (("VJE", {}), ("VJE Gaussian", {"likelihood": "gaussian"}),
                            ("VJE Cartesian", {"representation": "cartesian"})):
        detector = VJEDetector(epochs=args.epochs, seed=seed, **overrides).fit(train)
        out[name] = roc_auc_score(labels, detector.score(test))
    out["plain+kNN"] = roc_auc_score(labels, plain_knn(VJEDetector(epochs=args.epochs, seed=seed), train, test))
    out["DeepSVDD"] = roc_auc_score(labels, deep_svdd(split.train, split.test, args.epochs, seed))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder with the four Fashion-MNIST idx files (default: the Debian path)")
    parser.add_argument("--train", type=int, default=600, help="normal training images per class (seeded subsample)")
    parser.add_argument("--test", type=int, default=1000, help="test images (seeded subsample of the 10000)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of every trained model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = (*load_fashion_mnist("train", args.data), *load_fashion_mnist("test", args.data))
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
    print_table(
        f"Fashion-MNIST one-class image AUROC ({args.train} train / {args.test} test images per class, seeded "
        f"subsample; {args.epochs} epochs; seeds {args.seeds}; {time.perf_counter() - started:.0f} s)",
        ["normal class", *METHODS], rows,
    )


if __name__ == "__main__":
    main()
