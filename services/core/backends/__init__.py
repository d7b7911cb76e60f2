"""Backends run a stored detector version: ``inline`` (in process) or ``ray`` (Ray Serve replicas)."""

from services.core.backends.base import Backend, BackendSettings, make_backend

__all__ = ["Backend", "BackendSettings", "make_backend"]
