"""Shared small data of the tensor-stream tests."""

from __future__ import annotations

import numpy as np
import pytest

from services.tensorstream.detectors.heterocomp import HeteroCompDetector
from services.tensorstream.netgen import NetworkStream, network_stream

SMALL = {"n_components": 4, "em_iters": 8, "window_seconds": 60.0, "n_bins": 16, "hash_buckets": 8, "harmonics": 1}


@pytest.fixture(scope="module")
def stream() -> NetworkStream:
    """8 hours at 0.5 flows/s; group anomalies in the last 2 hours."""
    return network_stream(seed=3, days=8 / 24, rate=0.5, n_anomalies=6, anomaly_start=0.8)


@pytest.fixture(scope="module")
def fitted(stream: NetworkStream) -> HeteroCompDetector:
    """A small detector fitted on the first 6 clean hours."""
    events = stream.events
    train = np.flatnonzero((events.times < 6 * 3600) & (stream.labels == 0))
    return HeteroCompDetector(SMALL).fit(events.take(train))
