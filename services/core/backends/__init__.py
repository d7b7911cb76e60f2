"""Backends run a stored detector version: ``inline`` (in process), ``ray`` (Ray Serve replicas) or ``triton``."""

from services.core.backends.base import Backend, BackendSettings
from services.core.backends.factory import make_backend

__all__ = ["Backend", "BackendSettings", "make_backend"]
