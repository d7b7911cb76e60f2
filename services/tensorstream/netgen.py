"""A generator of network event streams with labelled group anomalies and drift.

Events are flows ``(time, src_ip, dst_ip, dst_port, protocol, bytes, duration)``. Normal traffic:
internal clients reach servers chosen by Zipf popularity, each server offering a few services with
their own port, protocol and log-normal bytes / gamma durations; the rate follows a daily cycle.
Drift: popularity shifts, bytes grow slowly and a new service appears half-way. Group anomalies
(labels per event: 1 DoS, 2 port scan, 3 exfiltration):

* DoS: many external sources flood one server port with tiny, short flows for a few minutes;
* port scan: one source probes hundreds of ports of one host (tiny flows, many unusual ports);
* exfiltration: one client sends a few dozen large, long flows to one unseen external host.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.tensorstream.batch import EventBatch

__all__ = ["ANOMALY_TYPES", "NetworkStream", "network_stream"]

ANOMALY_TYPES = {1: "dos", 2: "port_scan", 3: "exfiltration"}
SERVICES = [  # port, protocol, log-bytes mean, log-bytes sd, duration shape, duration scale
    (443, "tcp", 9.0, 1.2, 2.0, 1.5), (80, "tcp", 8.0, 1.0, 2.0, 0.8), (53, "udp", 5.0, 0.4, 1.0, 0.05),
    (22, "tcp", 10.0, 1.5, 1.5, 30.0), (25, "tcp", 8.5, 0.8, 2.0, 2.0), (3306, "tcp", 7.0, 1.3, 2.0, 0.3),
    (123, "udp", 4.5, 0.2, 1.0, 0.01), (8080, "tcp", 8.5, 1.1, 2.0, 1.0)]


@dataclass(frozen=True)
class NetworkStream:
    """Events, per-event labels (0 normal, else the type in ``ANOMALY_TYPES``), and the window width used."""

    events: EventBatch
    labels: np.ndarray
    window_seconds: float


def _ip(prefix: str, i: np.ndarray) -> np.ndarray:
    return np.array([f"{prefix}.{v // 250}.{v % 250 + 1}" for v in i], dtype=object)


def _normal(rng: np.random.Generator, start: float, duration: float, rate: float, n_clients: int,
            n_servers: int) -> tuple[np.ndarray, ...]:
    """Normal flows between ``start`` and ``start + duration`` seconds."""
    grid = np.arange(start, start + duration, 60.0)
    cycle = 1.0 + 0.6 * np.sin(2 * np.pi * (grid / 86400.0 - 0.3))
    counts = rng.poisson(rate * 60.0 * cycle)
    times = np.repeat(grid, counts) + rng.uniform(0, 60.0, counts.sum())
    times.sort()
    n = times.size
    progress = (times - start) / max(duration, 1.0)
    server_service = np.random.default_rng(7).integers(0, len(SERVICES) - 1, size=(n_servers, 2))
    pop = 1.0 / np.arange(1, n_servers + 1) ** 1.1
    server = rng.choice(n_servers, size=n, p=pop / pop.sum())
    drift_shift = (progress > 0.5) & (rng.random(n) < 0.3)  # popularity drift: later, some go to the tail half
    server[drift_shift] = n_servers // 2 + server[drift_shift] % (n_servers - n_servers // 2)
    service = server_service[server, rng.integers(0, 2, n)]
    new_service = (progress > 0.5) & (rng.random(n) < 0.08)  # a new service appears half-way
    service[new_service] = len(SERVICES) - 1
    spec = np.array([s[2:] for s in SERVICES])
    client = np.minimum(rng.zipf(1.6, n) - 1, n_clients - 1)
    log_bytes = rng.normal(spec[service, 0] + 0.3 * progress, spec[service, 1])
    dur = rng.gamma(spec[service, 2], spec[service, 3])
    return (times, _ip("10.1", client), _ip("10.9", server), np.array([SERVICES[s][0] for s in service]),
            np.array([SERVICES[s][1] for s in service], dtype=object), np.exp(log_bytes), dur)


def _dos(rng: np.random.Generator, t0: float, n_servers: int) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(150, 400))
    times = np.sort(t0 + rng.uniform(0, rng.uniform(60, 240), n))
    src = np.array([f"203.0.{rng.integers(0, 40)}.{rng.integers(1, 250)}" for _ in range(n)], dtype=object)
    dst = _ip("10.9", np.full(n, rng.integers(0, min(5, n_servers))))
    return (times, src, dst, np.full(n, 80), np.full(n, "tcp", dtype=object), np.exp(rng.normal(4.0, 0.3, n)),
            rng.gamma(1.0, 0.02, n))


def _scan(rng: np.random.Generator, t0: float, n_clients: int) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(80, 250))
    times = np.sort(t0 + rng.uniform(0, rng.uniform(30, 120), n))
    src = _ip("10.1", np.full(n, rng.integers(0, n_clients)))
    dst = _ip("10.9", np.full(n, rng.integers(0, 40)))
    ports = rng.choice(np.arange(1, 10000), size=n, replace=False)
    return (times, src, dst, ports, np.full(n, "tcp", dtype=object), np.exp(rng.normal(4.2, 0.2, n)),
            rng.gamma(1.0, 0.005, n))


def _exfil(rng: np.random.Generator, t0: float, n_clients: int) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(15, 40))
    times = np.sort(t0 + rng.uniform(0, 300, n))
    src = _ip("10.1", np.full(n, rng.integers(0, n_clients)))
    dst = np.full(n, f"198.51.100.{rng.integers(1, 250)}", dtype=object)
    return (times, src, dst, np.full(n, 443), np.full(n, "tcp", dtype=object), np.exp(rng.normal(15.5, 0.5, n)),
            rng.gamma(3.0, 60.0, n))


def network_stream(seed: int = 0, days: float = 2.0, rate: float = 2.0, n_anomalies: int = 12,
                   anomaly_start: float = 0.5, n_clients: int = 300, n_servers: int = 40,
                   window_seconds: float = 60.0) -> NetworkStream:
    """A stream of ``days`` days at ``rate`` normal flows per second (on average), with ``n_anomalies`` groups
    placed at random after ``anomaly_start`` (fraction of the span), cycling DoS, scan and exfiltration."""
    rng = np.random.default_rng(seed)
    duration = days * 86400.0
    parts = [(*_normal(rng, 0.0, duration, rate, n_clients, n_servers), 0)]
    starts = np.sort(rng.uniform(anomaly_start * duration, duration - 600.0, n_anomalies))
    makers = [lambda t: _dos(rng, t, n_servers), lambda t: _scan(rng, t, n_clients),
              lambda t: _exfil(rng, t, n_clients)]
    for i, t0 in enumerate(starts):
        parts.append((*makers[i % 3](t0), i % 3 + 1))
    columns = [np.concatenate([p[c] for p in parts]) for c in range(7)]
    labels = np.concatenate([np.full(p[0].size, p[7], dtype=np.int8) for p in parts])
    order = np.argsort(columns[0], kind="stable")
    cat = np.stack([columns[1][order], columns[2][order], columns[3][order].astype(np.int64).astype(object),
                    columns[4][order]], axis=1)
    cont = np.stack([columns[5][order], columns[6][order]], axis=1).astype(np.float32)
    events = EventBatch(columns[0][order], cat, cont, ("src_ip", "dst_ip", "dst_port", "protocol"),
                        ("bytes", "duration"))
    return NetworkStream(events, labels[order], window_seconds)
