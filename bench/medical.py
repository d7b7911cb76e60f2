"""Medical detectors on the built-in brain MRI, liver-CT and retinal-OCT sets, beside two baselines.

For each set and seed, Multi-AD, PatchCore (same EfficientNet-Lite0 backbone, same 2.5D input) and the atlas
z-score baseline (voxel-wise deviation from the registered training template) are fitted on normal slices and
score a held-out test split, half of which carries lesions of kinds no detector saw in training (brain: a
different subject, Colin27, with implanted lesions). Prints image AUROC, pixel AUROC and AUPRO as mean ± sd
over seeds, the training losses, then one 182x218x182 volume scored end to end in-process (NIfTI bytes in,
NIfTI map bytes out), latency per slice for a 256² batch of 8, and the peak memory (VmHWM) of a child process
that loads the model and scores the volume. Hyper-parameters (``CONFIGS``) are fixed in this file, not tuned on
test figures; the validation split is scored for the false-positive check only (normal slices).

Run: ``python bench/medical.py [--quick] [--seeds 3] [--first-seed 0] [--sets brain ct oct]
[--no-serving | --serving-only]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table

CONFIGS = {
    "multi_ad": {"image_size": 160, "kd_steps": 250, "kd_crop": 96, "kd_batch": 8, "disc_steps": 150,
                 "disc_batch": 16, "synthetic_per_image": 1, "student_width": 32, "student_blocks": 1},
    "patchcore": {"image_size": 160, "layers": [0, 1], "coreset_ratio": 0.05},
}
QUICK = {"multi_ad": {"kd_steps": 60, "disc_steps": 40}, "patchcore": {}}

MEMORY_PROBE = """
import sys, numpy as np, torch
torch.set_num_threads(2)
from pathlib import Path
from services.core import registry
from services.medical.codec import decode_upload
from services.medical.pipeline import analyse_volume
from services.medical.io.nifti import write_map_nifti
detector = registry.detector_class("medical", "multi_ad").load(sys.argv[1])
volume = decode_upload(Path(sys.argv[2]).read_bytes(), "volume.nii.gz")
analysis = analyse_volume(detector, volume)
write_map_nifti(volume, analysis.result.anomaly_map)
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(peak_kib / 1024 / 1024)
"""


def load_set(name: str, seed: int, quick: bool):  # type: ignore[no-untyped-def]
    from services.medical.data.brain import brain_set
    from services.medical.data.ct import ct_set
    from services.medical.data.oct import oct_set

    n = 30 if quick else 60
    if name == "brain":
        return brain_set(n_test=n, seed=seed)
    if name == "ct":
        return ct_set(n_train=40 if quick else 60, n_val=10, n_test=n, seed=seed)
    return oct_set(n_train=40 if quick else 60, n_val=10, n_test=n, seed=seed)


def evaluate(scores: np.ndarray, maps: np.ndarray, data) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    from services.vision.metrics import aupro, image_auroc, pixel_auroc

    return (image_auroc(data.test_labels, scores), pixel_auroc(data.test_masks, maps),
            aupro(data.test_masks, maps, num_thresholds=400))


def new_record() -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Empty per-method results and Multi-AD training figures of one set."""
    return ({"Multi-AD": [], "PatchCore": [], "atlas z-score": []},
            {"kd_loss": [], "disc_loss": [], "fit_s": [], "val_fp": [], "model": None})


def run_seed(name: str, seed: int, quick: bool, results: dict, extra: dict) -> None:  # type: ignore[type-arg]
    """Fit the three methods on one set and seed; append the figures to ``results`` / ``extra``."""
    from services.medical.baselines import AtlasZScore
    from services.medical.detectors.multi_ad import MedicalMultiADDetector
    from services.medical.detectors.patchcore import MedicalPatchCoreDetector

    data = load_set(name, seed, quick)
    multi = MedicalMultiADDetector({**CONFIGS["multi_ad"], **(QUICK["multi_ad"] if quick else {}), "seed": seed})
    started = time.perf_counter()
    multi.fit(data.train)
    extra["fit_s"].append(time.perf_counter() - started)
    extra["kd_loss"].append(multi.training_summary_["kd_loss"])
    extra["disc_loss"].append(multi.training_summary_["disc_loss"])
    scores, maps = multi.score_and_maps(data.test)
    results["Multi-AD"].append(evaluate(scores, maps, data))
    normal_test = scores[data.test_labels == 0]
    val_scores = multi.score(data.val)  # normal validation slices: share above the 95th pct of normal test
    extra["val_fp"].append(float((val_scores > np.percentile(normal_test, 95)).mean()))
    patch = MedicalPatchCoreDetector({**CONFIGS["patchcore"], "seed": seed}).fit(data.train)
    results["PatchCore"].append(evaluate(*patch.score_and_maps(data.test), data))
    atlas = AtlasZScore().fit(data.train, data.train_pos)
    results["atlas z-score"].append(evaluate(*atlas.score_and_maps(data.test, data.test_pos), data))
    extra["model"] = multi
    print(f"  {name} seed {seed}: " + ", ".join(f"{k} {v[-1][0]:.3f}/{v[-1][1]:.3f}/{v[-1][2]:.3f}"
                                                for k, v in results.items()), flush=True)


def pm(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def serving_figures(detector) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """End-to-end volume time, per-slice latency (256² batch of 8), peak memory of a serving child process."""
    import nibabel as nib

    from services.medical.codec import decode_upload
    from services.medical.data.brain import GRID_AFFINE, brain_volumes
    from services.medical.io.nifti import nifti_bytes, write_map_nifti
    from services.medical.pipeline import analyse_volume

    colin = brain_volumes()["colin"]
    payload = nifti_bytes(nib.Nifti1Image((colin * 1000).astype(np.int16), GRID_AFFINE))
    rows = []
    times, cpu = [], []
    for _ in range(2):
        started, cpu_started = time.perf_counter(), time.process_time()
        volume = decode_upload(payload, "colin27.nii.gz")
        analysis = analyse_volume(detector, volume)
        out = write_map_nifti(volume, analysis.result.anomaly_map)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    scored = int(analysis.result.scored.sum())
    rows.append([f"volume 182x218x182 end to end (decode, {scored} of 182 slices scored, NIfTI map)",
                 f"{min(times):.2f} s wall, {min(cpu):.2f} s CPU", "≤ 10 s"])
    batch = np.random.default_rng(0).uniform(0, 1, (8, 3, 256, 256)).astype(np.float32)
    detector.score_and_maps(batch)
    lat = []
    for _ in range(3):
        started = time.perf_counter()
        detector.score_and_maps(batch)
        lat.append((time.perf_counter() - started) * 1000 / 8)
    rows.append(["latency per slice, 256² batch of 8", f"{np.median(lat):.1f} ms", "≤ 150 ms"])
    with tempfile.TemporaryDirectory() as folder:
        detector.save(folder)
        volume_path = Path(folder) / "volume.nii.gz"
        volume_path.write_bytes(payload)
        root = Path(__file__).resolve().parents[1]
        probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, folder, str(volume_path)], cwd=root,
                               check=True, capture_output=True, text=True)
        rows.append(["peak memory (VmHWM) of a process serving the volume",
                     f"{float(probe.stdout.strip().splitlines()[-1]):.2f} GiB", "≤ 2 GiB"])
    rows.append(["map NIfTI bytes", f"{len(out) / 1e6:.1f} MB", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, fewer steps and test slices")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per set (default 3, 1 with --quick)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--serving-only", action="store_true", help="only the volume / latency / memory figures")
    parser.add_argument("--no-serving", action="store_true", help="skip the volume / latency / memory figures")
    parser.add_argument("--sets", nargs="+", default=["brain", "ct", "oct"], choices=["brain", "ct", "oct"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    seeds = list(range(args.first_seed, args.first_seed + (args.seeds or (1 if args.quick else 3))))
    started = time.perf_counter()
    table, losses = [], []
    records = {name: new_record() for name in args.sets}
    for seed in seeds if not args.serving_only else []:  # seeds outermost: an interrupted run still covers every set
        for name in args.sets:
            run_seed(name, seed, args.quick, *records[name])
    if args.serving_only:
        from services.medical.data.brain import brain_set
        from services.medical.detectors.multi_ad import MedicalMultiADDetector

        config = {**CONFIGS["multi_ad"], **(QUICK["multi_ad"] if args.quick else {})}
        model = MedicalMultiADDetector(config).fit(brain_set(n_test=2).train)
        print_table("Serving (in-process, 2 threads; brain Multi-AD model)", ["measure", "value", "target"],
                    serving_figures(model))
        return
    model = records["brain"][1]["model"] if "brain" in records and not args.no_serving else None
    for name in args.sets:
        results, extra = records[name]
        for method, values in results.items():
            cols = list(zip(*values, strict=True))
            table.append([name, method, pm(cols[0]), pm(cols[1]), pm(cols[2])])
        losses.append([name, pm(extra["kd_loss"]), pm(extra["disc_loss"]), f"{np.mean(extra['fit_s']):.0f} s",
                       pm(extra["val_fp"])])
    print_table(f"Medical anomaly detection, {len(seeds)} seed(s), mean ± sd (image AUROC / pixel AUROC / AUPRO@0.3)",
                ["set", "method", "image AUROC", "pixel AUROC", "AUPRO"], table)
    print_table("Multi-AD training (last-20-step mean losses), fit time, validation false-positive share",
                ["set", "KD loss", "discriminator loss", "fit time", "val normal > p95 of test normal"], losses)
    if model is not None:
        print_table("Serving (in-process, 2 threads; brain Multi-AD model)", ["measure", "value", "target"],
                    serving_figures(model))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
