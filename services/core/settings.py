"""Service settings: defaults, then a YAML file, then ``POLYAD_<SERVICE>_<FIELD>`` environment variables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, Field

from services.core.backends import BackendSettings

__all__ = ["ServiceSettings", "load_settings"]


class ServiceSettings(BaseModel):
    """Fields every domain service has."""

    address: str = Field("127.0.0.1:50061", description="host:port the gRPC server binds.")
    store_root: str | None = Field(None, description="Model store root; None = $POLYAD_MODEL_STORE or ~/.cache.")
    backend: BackendSettings = Field(default_factory=BackendSettings)
    max_request_bytes: int = Field(64 * 1024 * 1024, description="Largest tensor accepted, in bytes.")
    metrics_port: int | None = Field(None, description="Port of the Prometheus /metrics HTTP endpoint; None = off.")


Settings = TypeVar("Settings", bound=BaseModel)


def load_settings(cls: type[Settings], path: str | Path | None, env_prefix: str) -> Settings:
    """Build ``cls`` from an optional YAML file, then env vars (JSON values for nested fields)."""
    data: dict = {}
    if path is not None:
        data = yaml.safe_load(Path(path).read_text()) or {}
    for name in cls.model_fields:
        raw = os.environ.get(f"{env_prefix}{name.upper()}")
        if raw is None:
            continue
        try:
            data[name] = json.loads(raw)
        except json.JSONDecodeError:
            data[name] = raw
    return cls.model_validate(data)
