"""Detector plugins, found through the ``polyad.detectors`` entry-point group and loaded lazily.

An entry point is named ``<service>.<detector>`` (for example ``timeseries.comet``) and points at
the detector class. Nothing is imported until a detector is asked for, so a service pays only
for its own dependencies.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from services.core.contract import Detector
from services.core.errors import InvalidInputError

__all__ = ["GROUP", "available", "detector_class", "service_detectors"]

GROUP = "polyad.detectors"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    """Every registered ``<service>.<detector>`` name, sorted."""
    return sorted(_entry_points())


def service_detectors(service: str) -> list[str]:
    """Detector names registered for one service."""
    prefix = f"{service}."
    return [name[len(prefix):] for name in available() if name.startswith(prefix)]


@cache
def detector_class(service: str, detector: str) -> type[Detector]:
    """Import and return the detector class; unknown names are an input error naming the known ones."""
    key = f"{service}.{detector}"
    entry = _entry_points().get(key)
    if entry is None:
        known = ", ".join(service_detectors(service)) or "none"
        raise InvalidInputError(f"unknown {service} detector {detector!r}; known: {known}")
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"entry point {key} does not name a Detector subclass")
    return cls
