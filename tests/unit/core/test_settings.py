"""Service settings from file and environment."""

from pathlib import Path

import pytest

from services.core.settings import load_settings
from services.core.spec import service_spec
from services.timeseries.config import TimeSeriesSettings

ENV_PREFIX = service_spec("timeseries").env_prefix


def test_file_then_env(tmp_path: Path) -> None:
    path = tmp_path / "polyad.yaml"
    path.write_text("timeseries:\n  address: 0.0.0.0:7000\n  max_points: 10\n  backend: {kind: ray, num_replicas: 3}\n")
    env = {
        "POLYAD_TIMESERIES_MAX_POINTS": "20",
        "POLYAD_TIMESERIES_BACKEND": '{"kind": "ray", "num_gpus": 1}',
        "POLYAD_TIMESERIES_UNRELATED": "ignored",
    }
    settings = load_settings(TimeSeriesSettings, path, ENV_PREFIX, section="timeseries", env=env)
    assert settings.address == "0.0.0.0:7000" and settings.max_points == 20
    assert settings.backend.kind == "ray" and settings.backend.num_gpus == 1 and settings.backend.num_replicas == 1


def test_bad_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="POLYAD_TIMESERIES_BACKEND"):
        load_settings(TimeSeriesSettings, None, ENV_PREFIX, env={"POLYAD_TIMESERIES_BACKEND": "{kind"})
    with pytest.raises(ValueError):
        load_settings(TimeSeriesSettings, None, ENV_PREFIX, env={"POLYAD_TIMESERIES_BACKEND": '{"kind": "gpu"}'})


def test_spec_fills_address_and_default_detector_from_one_place() -> None:
    spec = service_spec("timeseries")
    settings = spec.load_settings(env={})
    assert settings.address == f"127.0.0.1:{spec.port}" and settings.default_detector == spec.default_detector
    env = {"POLYAD_TIMESERIES_ADDRESS": "0.0.0.0:9", "POLYAD_TIMESERIES_DEFAULT_DETECTOR": "x"}
    moved = spec.load_settings(env=env)
    assert (moved.address, moved.default_detector) == ("0.0.0.0:9", "x")
