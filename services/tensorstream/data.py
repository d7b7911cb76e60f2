"""Data of the tensor-stream service: real flights, shuttle, generated network streams, users' logs, windows."""

from __future__ import annotations

import numpy as np

from services.tensorstream.flights import FlightStream, flight_events, flights_stream
from services.tensorstream.loaders import load_events, save_events
from services.tensorstream.netgen import NetworkStream, network_stream
from services.tensorstream.shuttle import shuttle_events

__all__ = ["FlightStream", "NetworkStream", "flight_events", "flights_stream", "load_events", "network_stream",
           "save_events", "shuttle_events", "window_labels"]


def window_labels(times: np.ndarray, labels: np.ndarray, window_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Window indices ``(m,)`` (``floor(t / window_seconds)``, windows with events) and their labels
    ``(m,)`` int8: 1 when any event in the window is anomalous."""
    index = np.floor(np.asarray(times) / window_seconds).astype(np.int64)
    windows, inverse = np.unique(index, return_inverse=True)
    flagged = np.zeros(windows.size, dtype=np.int8)
    np.maximum.at(flagged, inverse, (np.asarray(labels) > 0).astype(np.int8))
    return windows, flagged
