"""PU-GAT+ / CRFN building blocks: confidence-monotonic attention, conformal quantiles, ACI, propagation, input
checks, loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from services.core.errors import InvalidInputError
from services.traffic.batch import SensorBatch, head, validate_batch
from services.traffic.detectors.pu_gat.conformal import aci_update, conformal_quantile
from services.traffic.detectors.pu_gat.model import PUGATPlus
from services.traffic.detectors.pu_gat.scoring import propagation
from services.traffic.loaders import load_adjacency, load_sensor_csv


def test_attention_is_confidence_monotonic() -> None:
    torch.manual_seed(0)
    model = PUGATPlus(n_nodes=5, n_features=2, lags=3)
    h = torch.randn(1, 5, model.hidden)
    mask = torch.ones(5, 5, dtype=torch.bool)
    low = torch.zeros(1, 5)
    high = low.clone()
    high[0, 3] = 2.0  # node 3 becomes more uncertain
    before, after = model.attention(h, low, mask), model.attention(h, high, mask)
    assert (after[0, :, 3] < before[0, :, 3]).all(), "every node attends less to the uncertain neighbour"
    out = model(torch.randn(4, 3, 5, 2), mask)
    assert out["mean"].shape == out["log_scale"].shape == (4, 5, 2) and out["attention"].shape == (4, 5, 5)


def test_conformal_quantile_and_split_coverage() -> None:
    rng = np.random.default_rng(0)
    scores = np.sort(np.abs(rng.standard_normal((2, 999))), axis=1)
    q = conformal_quantile(scores, 0.1)
    assert q.shape == (2,) and np.allclose(q, scores[:, 899])
    fresh = np.abs(rng.standard_normal((2, 20000)))
    assert np.all(np.abs((fresh <= q[:, None]).mean(1) - 0.9) < 0.03)  # calibration-conditional sd ≈ 0.01
    per_cell = conformal_quantile(scores, np.full((3, 2), 0.5))
    assert per_cell.shape == (3, 2)
    assert np.allclose(conformal_quantile(scores, -0.2), scores[:, -1]), "α ≤ 1/(M+1): the widest finite interval"


def test_aci_tracks_target_coverage_under_drift() -> None:
    rng = np.random.default_rng(1)
    calib = np.sort(np.abs(rng.standard_normal((1, 2000))), axis=1)
    alpha, misses = np.full((1, 1), 0.1), []
    for t in range(4000):
        scale = 1.0 if t < 1000 else 1.8  # the residuals widen: split conformal would under-cover
        miss = np.abs(scale * rng.standard_normal((1, 1))) > conformal_quantile(calib, alpha)
        misses.append(bool(miss[0, 0]))
        alpha = aci_update(alpha, miss, 0.1, 0.02)
    assert abs(1 - np.mean(misses[2000:]) - 0.9) < 0.03


def test_propagation_needs_an_anomalous_upstream_neighbour() -> None:
    adjacency = np.zeros((3, 3))
    adjacency[0, 1] = 1.0  # 0 feeds 1
    z = np.zeros((2, 3, 1))
    z[0, 0], z[1, 1], z[1, 2] = 5.0, 6.0, 6.0
    flow = propagation(z, adjacency)
    assert flow[1, 1] == pytest.approx(3.0 * 4.0) and flow[1, 2] == 0.0 and flow[0].sum() == 0.0


def _batch(t: int = 5, n: int = 3) -> SensorBatch:
    return SensorBatch(np.ones((t, n, 2), np.float32), np.arange(t, dtype=np.float64) * 10)


def test_validation_names_fields() -> None:
    ok = validate_batch(_batch(), 3, 2)
    assert ok.readings.dtype == np.float32
    with pytest.raises(InvalidInputError, match="graph has 4") as caught:
        validate_batch(_batch(), 4, 2)
    assert caught.value.field == "readings"
    nan = _batch()
    nan.readings[2, 1, 0] = np.nan
    with pytest.raises(InvalidInputError, match=r"readings\[2, 1, 0\]"):
        validate_batch(nan, 3, 2)
    missing = np.zeros((5, 3), bool)
    missing[2, 1] = True
    cleaned = validate_batch(SensorBatch(nan.readings, nan.times, missing=missing), 3, 2)
    assert np.isfinite(cleaned.readings).all()
    back = _batch()
    back.times[3] = 0.0
    with pytest.raises(InvalidInputError, match="backwards") as caught:
        validate_batch(back, 3, 2)
    assert caught.value.field == "times"
    with pytest.raises(InvalidInputError, match="goes back"):
        validate_batch(_batch(), 3, 2, last_time=20.0)
    assert len(head(_batch(), 6)) == 6


def test_metr_la_layout_loaders(tmp_path: Path) -> None:
    csv = tmp_path / "speeds.csv"
    csv.write_text("timestamp,773869,767541,767542\n2012-03-01 00:05:00,64.4,0,61.0\n"
                   "2012-03-01 00:00:00,64.3,67.6,60.1\n")
    table = load_sensor_csv(csv)
    assert table.sensors == ["773869", "767541", "767542"] and table.readings.shape == (2, 3, 1)
    assert table.times[1] - table.times[0] == 300 and table.missing[1, 1] and not table.missing[0].any()
    edges = tmp_path / "distances.csv"
    edges.write_text("from,to,cost\n773869,767541,100.0\n767541,767542,5000.0\n767542,999,1.0\n")
    adjacency = load_adjacency(edges, table.sensors)
    assert adjacency[0, 1] and not adjacency[1, 2] and adjacency.sum() == 1
    np.save(tmp_path / "adj.npy", np.eye(3)[::-1])
    assert load_adjacency(tmp_path / "adj.npy", table.sensors).sum() == 3
