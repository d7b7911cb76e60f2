"""Prometheus metrics shared by every service and the gateway (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["BATCH_SIZE", "LATENCY", "REQUESTS", "UNAUTHENTICATED"]

REQUESTS = Counter(
    "polyad_requests_total",
    "Requests handled, by component, method and status code.",
    ["component", "method", "code"],
)
LATENCY = Histogram(
    "polyad_request_latency_seconds",
    "Request latency, by component and method.",
    ["component", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SIZE = Histogram(
    "polyad_batch_size",
    "Items per backend call (after dynamic batching), by detector.",
    ["detector"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
UNAUTHENTICATED = Counter(
    "polyad_unauthenticated_total",
    "Calls rejected for missing or wrong credentials, by component.",
    ["component"],
)
