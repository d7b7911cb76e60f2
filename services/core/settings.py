"""Settings of every component: defaults, then a YAML/JSON file, then ``POLYAD_<COMPONENT>_*`` env vars.

Env values that look like JSON objects or lists are decoded (``POLYAD_TIMESERIES_BACKEND='{"kind": "ray"}'``);
``<FIELD>__<KEY>`` sets one key of a mapping field (``POLYAD_GATEWAY_ROUTES__TIMESERIES=ts:50061``).
Unknown names under the prefix are ignored (deployments set other variables too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field

from services.core.backends import BackendSettings
from services.core.tls import ServerTLSSettings

__all__ = ["ServiceSettings", "load_settings"]


class ServiceSettings(BaseModel):
    """Fields every domain service has."""

    address: str = Field("", description="host:port the gRPC server binds; empty = 127.0.0.1:<the spec's port>.")
    default_detector: str = Field("", description="Detector used when a request names none; empty = the spec's.")
    store_root: str | None = Field(None, description="Model store root; None = $POLYAD_MODEL_STORE or ~/.cache.")
    backend: BackendSettings = Field(default_factory=BackendSettings)
    max_request_bytes: int = Field(64 * 1024 * 1024, description="Largest tensor accepted, in bytes.")
    metrics_port: int | None = Field(None, description="Port of the Prometheus /metrics HTTP endpoint; None = off.")
    tls: ServerTLSSettings | None = Field(None, description="Serve gRPC over TLS (mTLS with a client CA).")


Settings = TypeVar("Settings", bound=BaseModel)


def load_settings(
    cls: type[Settings],
    path: str | Path | None,
    env_prefix: str,
    section: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build ``cls`` from defaults, the file at ``path`` (its ``section`` when nested), then ``env``."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of settings, got {type(loaded).__name__}")
        if section and isinstance(loaded.get(section), dict):  # a shared file may nest ours
            loaded = loaded[section]
        values.update(loaded)
    values.update(_from_env(cls, env_prefix, os.environ if env is None else env, values))
    return cls.model_validate(values)


def _decode(name: str, raw: str) -> Any:
    if not raw.lstrip().startswith(("{", "[")):
        return raw  # pydantic converts numbers and booleans given as text
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name}: expected a JSON value ({error})") from None


def _from_env(cls: type[BaseModel], prefix: str, env: Mapping[str, str], current: dict[str, Any]) -> dict[str, Any]:
    ours = {key[len(prefix) :].lower(): raw for key, raw in env.items() if key.startswith(prefix)}
    out = {name: _decode(prefix + name.upper(), raw) for name, raw in ours.items() if name in cls.model_fields}
    for name, raw in sorted(ours.items()):
        field, separator, key = name.partition("__")
        if separator and field in cls.model_fields:
            base = out.get(field, current.get(field, cls.model_fields[field].get_default(call_default_factory=True)))
            out[field] = {**(base if isinstance(base, dict) else {}), key: raw}
    return out
