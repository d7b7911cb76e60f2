"""Contract case of the tensor-stream modality: a small generated network stream with group anomalies."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "tensorstream.heterocomp": {"n_components": 4, "em_iters": 8, "window_seconds": 60.0, "n_bins": 16,
                                "hash_buckets": 8, "harmonics": 1},
}


def case(seed: int) -> ContractCase:
    """Train on 6 clean hours (0.5 flows/s); test on the next 2 hours with DoS, scans and exfiltration."""
    from services.tensorstream.batch import head
    from services.tensorstream.netgen import network_stream

    stream = network_stream(seed=seed, days=8 / 24, rate=0.5, n_anomalies=6, anomaly_start=0.8)
    events, labels = stream.events, stream.labels
    split = 6 * 3600.0
    train = np.flatnonzero((events.times < split) & (labels == 0))
    test = np.flatnonzero(events.times >= split)
    return ContractCase(events.take(train), events.take(test), (labels[test] > 0).astype(np.int8), min_auroc=0.8,
                        head=head)
