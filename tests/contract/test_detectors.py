"""One parametrized contract test over every registered detector plugin (DESIGN.md §5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from services.core import registry
from services.core.contract import Detector, NotFittedError
from tests.contract.cases import CASES, NO_ACCURACY_FLOOR, small_config

PLUGINS = registry.available()


def _make(key: str) -> tuple[type[Detector], Detector]:
    service, name = key.split(".", 1)
    cls = registry.detector_class(service, name)
    config = small_config(key)
    assert config is not None, f"add a small configuration for {key} to tests/contract/"
    return cls, cls(config)


def test_every_service_plugin_is_registered() -> None:
    assert "timeseries.comet" in PLUGINS


@pytest.mark.parametrize("key", PLUGINS)
def test_contract(key: str, tmp_path: Path) -> None:
    cls, detector = _make(key)
    assert detector.modality in CASES, f"add a contract case for modality {detector.modality!r}"
    case = CASES[detector.modality](seed=0)
    with pytest.raises(NotFittedError):
        detector.score(case.test)
    assert detector.fit(case.train) is detector
    assert detector.fitted_ and detector.training_summary_

    scores = detector.score(case.test)
    assert scores.dtype == np.float32 and scores.shape == case.labels.shape
    assert np.isfinite(scores).all()
    auroc = roc_auc_score(case.labels, scores)
    if key in NO_ACCURACY_FLOOR:
        print(f"{key}: AUROC {auroc:.3f}, no floor checked ({NO_ACCURACY_FLOOR[key]})")
    else:
        assert auroc >= case.min_auroc, f"{key}: AUROC {auroc:.3f} below the floor {case.min_auroc}"

    detector.save(tmp_path)
    reloaded = cls.load(tmp_path)
    np.testing.assert_array_equal(reloaded.score(case.test), scores)
    assert reloaded.metadata().config == detector.metadata().config

    again = cls(small_config(key)).fit(case.train)
    np.testing.assert_allclose(again.score(case.test), scores, rtol=1e-5, atol=1e-6)

    head = case.head(case.test, 10)
    many = detector.score_many([head, case.test])
    np.testing.assert_allclose(many[1], scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(many[0], detector.score(head), rtol=1e-5, atol=1e-6)


def test_unknown_detector_names_the_known_ones() -> None:
    from services.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="known: comet"):
        registry.detector_class("timeseries", "nope")
