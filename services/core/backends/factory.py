"""Choosing a backend: ``make_backend`` imports only the backend a setting asks for (ray and triton are optional)."""

from __future__ import annotations

from services.core.backends.base import Backend, BackendSettings
from services.core.contract import Detector
from services.core.store import StoredModel

__all__ = ["make_backend"]


def make_backend(
    settings: BackendSettings, stored: StoredModel, detector_cls: type[Detector]
) -> Backend:
    """The backend ``settings.kind`` serving ``stored``."""
    if settings.kind == "inline":
        from services.core.backends.inline import InlineBackend

        return InlineBackend(settings, stored, detector_cls)
    if settings.kind == "triton":
        from services.core.backends.triton import TritonBackend

        return TritonBackend(settings, stored, detector_cls)
    from services.core.backends.ray_serve import RayBackend

    return RayBackend(settings, stored, detector_cls)
