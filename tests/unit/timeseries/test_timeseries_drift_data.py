"""Packaged real series and the anomaly injector used by ``bench/timeseries_drift.py``."""

from __future__ import annotations

import numpy as np
import pytest

from services.timeseries.injection import KINDS, LENGTHS, inject_anomalies, local_spread
from services.timeseries.real_series import DRIFTING, REAL_SERIES, load_real_series


@pytest.mark.parametrize("name", sorted(REAL_SERIES))
def test_real_series_load_finite_and_drifting(name: str) -> None:
    values = load_real_series(name)
    assert values.dtype == np.float32 and values.ndim == 2 and values.shape[1] == 1 and len(values) >= 1000
    assert np.isfinite(values).all()
    first, last = values[: len(values) // 3, 0], values[-len(values) // 3 :, 0]
    # the drifting ones: the level moves by more than the local variability; the control does not
    assert (abs(float(np.median(last) - np.median(first))) > local_spread(first)) == (name in DRIFTING)


def test_unknown_series_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="co2"):
        load_real_series("nope")


def test_injection_labels_exactly_what_changed_and_is_deterministic() -> None:
    series = load_real_series("co2")
    data = inject_anomalies(series, "co2", seed=3)
    split = int(len(series) * 0.45)
    np.testing.assert_array_equal(data.train, series[:split])
    assert data.test.shape == (len(series) - split, 1) and data.test_labels.shape == (len(data.test),)
    changed = data.test[:, 0] != series[split:, 0]
    assert not (changed & (data.test_labels == 0)).any()  # nothing outside the labels moved
    assert changed.sum() >= 0.8 * data.test_labels.sum()
    assert sorted(kind for kind, _, _ in data.anomalies) == sorted(KINDS)
    for kind, start, end in data.anomalies:
        assert data.test_labels[start:end].all() and start >= LENGTHS[1]
        assert end - start <= (3 if kind == "spike" else LENGTHS[1])
    again = inject_anomalies(series, "co2", seed=3)
    np.testing.assert_array_equal(again.test, data.test)
    assert not np.array_equal(inject_anomalies(series, "co2", seed=4).test_labels, data.test_labels)
