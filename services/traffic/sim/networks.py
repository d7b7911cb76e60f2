"""The RESCO city networks shipped in ``sumo-rl`` and their begin times (RESCO spawns no cars otherwise)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NETWORKS", "Network", "network"]

NETWORKS: dict[str, tuple[str, float]] = {
    "cologne1": ("cologne1", 25200.0), "cologne3": ("cologne3", 25200.0), "cologne8": ("cologne8", 25200.0),
    "ingolstadt1": ("ingolstadt1", 57600.0), "ingolstadt7": ("ingolstadt7", 57600.0),
    "ingolstadt21": ("ingolstadt21", 57600.0), "grid4x4": ("grid4x4", 0.0), "arterial4x4": ("arterial4x4", 0.0),
}
"""name → (folder under ``sumo_rl/nets/RESCO``, begin time in seconds)."""


@dataclass(frozen=True)
class Network:
    """Files and begin time of one RESCO scenario."""

    name: str
    net_file: Path
    route_file: Path
    begin: float


def network(name: str) -> Network:
    """The RESCO scenario ``name`` from the installed ``sumo-rl`` package (no download)."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}")
    spec = importlib.util.find_spec("sumo_rl")  # located, not imported (importing it starts nothing, but is slow)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the traffic simulation needs `pip install polyad[traffic]` (sumo-rl, libsumo)")
    folder, begin = NETWORKS[name]
    root = Path(spec.submodule_search_locations[0]) / "nets" / "RESCO" / folder
    routes = sorted(root.glob("*.rou.xml"))
    if not (root / f"{folder}.net.xml").exists() or not routes:
        raise FileNotFoundError(f"{root} lacks the network or route file of {name}")
    return Network(name, root / f"{folder}.net.xml", routes[0], begin)
