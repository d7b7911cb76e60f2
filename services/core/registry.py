"""Detector plugins, found through the ``polyad.detectors`` entry-point group and loaded lazily.

An entry point is named ``<service>.<detector>`` (for example ``timeseries.comet``) and points at
the detector class. A service spec may also declare detectors (``ServiceSpec.detectors``, for
services outside an installed package). Nothing is imported until a detector is asked for, so a
service pays only for its own dependencies.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points

from services.core.contract import Detector
from services.core.errors import InvalidInputError
from services.core.spec import SPECS_ENV, load_object, service_specs

__all__ = ["GROUP", "available", "detector_class", "service_detectors"]

GROUP = "polyad.detectors"


def _entry_points() -> dict[str, Callable[[], object]]:
    return _plugins(os.environ.get(SPECS_ENV, ""))


@cache
def _plugins(extra_specs: str) -> dict[str, Callable[[], object]]:
    """``<service>.<detector>`` -> a loader of the class (entry points, then spec-declared detectors)."""
    found: dict[str, Callable[[], object]] = {ep.name: ep.load for ep in entry_points(group=GROUP)}
    for spec in service_specs().values():
        for detector, reference in spec.detectors.items():
            found.setdefault(f"{spec.name}.{detector}", lambda reference=reference: load_object(reference))
    return found


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
    cls = entry()
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"entry point {key} does not name a Detector subclass")
    return cls
