"""The domain services the CLI knows: default detector and local port of each (one line per service)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "ServiceEntry"]


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One domain service as ``polyad up`` / ``train`` / ``score`` / ``eval`` see it."""

    default_detector: str  # trained by ``polyad up`` on first start, used when --detector is omitted
    port: int  # default local gRPC port; its Prometheus metrics listen on port + 1000


SERVICES: dict[str, ServiceEntry] = {
    "timeseries": ServiceEntry("comet", 50061),
    "vision": ServiceEntry("multi_ad", 50062),
    "logs": ServiceEntry("contralog", 50063),
    "graph": ServiceEntry("ego_diffusion", 50064),
}
