"""Service settings from file and environment."""

from pathlib import Path

import pytest

from services.core.settings import load_settings
from services.timeseries.config import ENV_PREFIX, TimeSeriesSettings


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
