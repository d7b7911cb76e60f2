"""Contract case of the logs modality: generated HDFS-like sessions (raw lines, newline-joined)."""

from __future__ import annotations

from typing import Any

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "logs.contralog": {"train_steps": 60, "d_model": 32, "n_layers": 1, "n_heads": 2, "window": 8,
                       "vocab_size": 300, "memory_size": 256, "batch_size": 16, "crop_len": 32},
}


def case(seed: int) -> ContractCase:
    """200 normal training sessions; 80 test sessions of which about a third are anomalous.

    Caps torch at one thread, as the inline backend does: on a shared 2-core machine more threads
    only spin.
    """
    import torch

    from services.logs.data import generated_hdfs

    torch.set_num_threads(1)

    train = generated_hdfs(200, anomaly_rate=0.0, seed=seed)
    test = generated_hdfs(80, anomaly_rate=0.35, seed=seed + 1)
    return ContractCase(train.sessions, test.sessions, test.labels, min_auroc=0.75)
