"""Do a texture's test rows look like its training rows to a detector? Normal crops only, no defect, no test label.

The detector fits on the validation split (left half of the training rows, ``inspection_set(validation=True)``)
and scores normal crops of the right half of the training rows and normal crops of the test rows' calibration
region (``normal_crops``). It prints the AUROC of "test-row crop vs training-row crop" from the image scores:
0.5 means the two regions look alike to the model; near 0 or 1 means validation cut from the training rows judges
other content than the test does.

Run: ``python bench/vision_row_shift.py [--detector patch_flow] [--categories grass gravel brick]``
"""

from __future__ import annotations

import argparse

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table


def main() -> None:
    from services.core import registry
    from services.vision import metrics
    from services.vision.data import CATEGORIES, inspection_set, normal_crops
    from services.vision.experiments import score_dataset

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detector", default="patch_flow")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--crops", type=int, default=60, help="normal crops per region")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for category in args.categories:
        split = inspection_set(category, n_train=64, n_test=2, seed=0, validation=True)
        detector = registry.detector_class("vision", args.detector)({"seed": 0}).fit(split.train_images)
        training_rows, _ = score_dataset(detector, normal_crops(category, "validation_test", args.crops, seed=5))
        test_rows, _ = score_dataset(detector, normal_crops(category, "calibration", args.crops, seed=5))
        labels = np.r_[np.zeros(len(training_rows)), np.ones(len(test_rows))]
        auroc = metrics.image_auroc(labels, np.r_[training_rows, test_rows])
        rows.append([category, f"{auroc:.3f}", f"{np.median(training_rows):.3f}", f"{np.median(test_rows):.3f}"])
        print(f"  {category}: done", flush=True)
    print_table(f"{args.detector}: normal crops of the test rows vs the training rows ({args.crops} each)",
                ["texture", "AUROC test-row vs training-row", "median score, training rows",
                 "median score, test rows"], rows)


if __name__ == "__main__":
    main()
