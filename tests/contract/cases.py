"""Seeded data and small configurations for the contract test, one entry per modality / detector.

A detector registered without a case here makes the contract test fail, so every plugin is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ContractCase:
    """Training data, a test batch with labels, the unit count ``score`` must return.

    ``head(test, k)`` is the same kind of input restricted to its first ``k`` units (plain slicing for
    arrays; a graph case restricts its target nodes instead; a time series keeps at least a window).
    """

    train: Any
    test: Any
    labels: np.ndarray
    min_auroc: float
    head: Callable[[Any, int], Any] = field(default=lambda batch, k: batch[:k])


def timeseries_case(seed: int) -> ContractCase:
    """A (1500, 2) seasonal series; the test part has a level shift and spikes."""
    rng = np.random.default_rng(seed)
    t = np.arange(2400, dtype=np.float32)
    series = np.stack([np.sin(2 * np.pi * t / 40), np.sin(2 * np.pi * t / 40 + 1.0)], axis=1)
    series += 0.05 * rng.standard_normal(series.shape)
    labels = np.zeros(900, dtype=np.int8)
    test = series[1500:].copy()
    test[300:340] += 2.5
    test[600:604] -= 4.0
    labels[300:340] = 1
    labels[600:604] = 1
    return ContractCase(series[:1500].astype(np.float32), test.astype(np.float32), labels, min_auroc=0.8,
                        head=lambda batch, k: batch[: max(k, 64)])  # COMET needs a full window (64 here)


def vision_case(seed: int) -> ContractCase:
    """16 normal 64x64 brick crops; 100 test crops, every other one with a synthetic defect."""
    from services.vision.data import inspection_set

    data = inspection_set("brick", n_train=16, n_test=100, size=64, seed=seed)
    return ContractCase(data.train_images, data.test_images, data.test_labels, min_auroc=0.75)


CASE_MODULES = {"logs": "logs_case", "graph": "graph_case", "medical": "medical_case",
                "tensorstream": "tensorstream_case", "hyperspectral": "hyperspectral_case",
                "traffic": "traffic_case"}
"""Modalities whose case lives in ``tests/contract/<module>.py`` (``case(seed)`` and ``SMALL_CONFIGS``)."""


def _lazy_case(module: str) -> Callable[[int], ContractCase]:
    return lambda seed: import_module(f"tests.contract.{module}").case(seed)


CASES: dict[str, Callable[[int], ContractCase]] = {
    "timeseries": timeseries_case,
    "vision": vision_case,
    **{modality: _lazy_case(module) for modality, module in CASE_MODULES.items()},
}

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "timeseries.comet": {"train_steps": 40, "window": 64, "patch_sizes": [8, 16], "d_model": 16, "n_heads": 2,
                         "memory_size": 128, "codebook_size": 16, "max_train_windows": 256},
    "vision.multi_ad": {"image_size": 64, "kd_steps": 30, "kd_crop": 64, "synthetic_per_image": 1,
                        "disc_steps": 20, "disc_batch": 8, "student_width": 16, "student_blocks": 1},
    "vision.patch_flow": {"image_size": 64, "layers": [0], "train_steps": 60, "batch_patches": 512, "flow_steps": 4,
                          "flow_hidden": 32},
    "vision.patchcore": {"image_size": 64, "layers": [0], "coreset_ratio": 0.05},
    "vision.vje": {"views": 4},
}


NO_ACCURACY_FLOOR: dict[str, str] = {
    "vision.tipsomaly": "zero-shot VLM: random weights in tests, no checkpoint ships",
}
"""Detectors whose scores cannot honestly meet a floor in tests (key -> reason, printed when skipped)."""


def write_tiny_vlm(directory: str | Path, seed: int = 0) -> Path:
    """A random-weights OpenCLIP ViT of the real architecture (tiny widths) plus a BPE merges file covering the
    prompt words, written as ``open_clip_model.safetensors`` + ``bpe_simple_vocab_16e6.txt.gz``; the checkpoint."""
    import gzip
    import re

    import torch
    from safetensors.torch import save_file

    from services.vision.detectors.tipsomaly import CLIPConfig, OpenCLIP
    from services.vision.detectors.tipsomaly.detector import prompt_texts

    fixed, pixel = prompt_texts("object", 8)
    merges: list[str] = []
    for word in sorted({w for text in [*fixed[0], *fixed[1], *pixel] for w in re.findall(r"[a-z]+", text)}):
        symbols = [*word[:-1], word[-1] + "</w>"]
        while len(symbols) > 1:
            merges.append(f"{symbols[0]} {symbols[1]}")
            symbols = [symbols[0] + symbols[1], *symbols[2:]]
    merges = list(dict.fromkeys(merges))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    merges_text = "\n".join(["#version: 0.2", *merges])
    (directory / "bpe_simple_vocab_16e6.txt.gz").write_bytes(gzip.compress(merges_text.encode()))
    cfg = CLIPConfig(embed_dim=16, image_size=32, patch_size=8, vision_width=64, vision_layers=1, vision_heads=1,
                     context_length=77, vocab_size=512 + len(merges) + 2, text_width=64, text_layers=1, text_heads=1)
    torch.manual_seed(seed)
    save_file({k: v.contiguous() for k, v in OpenCLIP(cfg).state_dict().items()},
              str(directory / "open_clip_model.safetensors"))
    return directory / "open_clip_model.safetensors"


@cache
def _tiny_vlm_checkpoint() -> str:
    import atexit
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="polyad-tiny-vlm-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return str(write_tiny_vlm(directory))


LAZY_CONFIGS: dict[str, Callable[[], dict[str, Any]]] = {
    "vision.tipsomaly": lambda: {"image_size": 64, "checkpoint": _tiny_vlm_checkpoint(), "n_ctx": 4},
}
"""Small configurations that need files (a checkpoint) written once per test session."""


def small_config(key: str) -> dict[str, Any] | None:
    """The small test configuration of detector ``<service>.<name>``, or None when none is declared."""
    if key in SMALL_CONFIGS:
        return SMALL_CONFIGS[key]
    if key in LAZY_CONFIGS:
        return LAZY_CONFIGS[key]()
    module = CASE_MODULES.get(key.split(".", 1)[0])
    return import_module(f"tests.contract.{module}").SMALL_CONFIGS.get(key) if module else None
