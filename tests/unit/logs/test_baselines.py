"""The benchmark baselines over Drain3 templates, and the evaluation protocol."""

from __future__ import annotations

import numpy as np
import pytest

from services.logs.data import generated_hdfs
from services.logs.evaluation import evaluate_method, metrics

pytest.importorskip("drain3")


def test_drain_templates_mark_unseen_lines() -> None:
    from services.logs.baselines import DrainTemplates

    templates = DrainTemplates()
    train = templates.fit(np.array(["081109 1 2 INFO got block blk_1 size 10\n081109 1 2 INFO done blk_1"]))
    assert [t.tolist() for t in train] == [[1, 2]]
    seen, unseen = templates.transform(np.array(["081110 3 4 INFO got block blk_7 size 99\n9 9 FATAL boom boom"]))[0]
    assert seen == 1 and unseen == 0


@pytest.mark.parametrize("kind", ["pca", "iforest", "deeplog"])
def test_baselines_score_sessions(kind: str) -> None:
    import torch

    from services.logs.baselines import DeepLog, TemplateCountModel

    torch.set_num_threads(1)
    data = generated_hdfs(300, anomaly_rate=0.1, seed=9)
    model = DeepLog(epochs=1) if kind == "deeplog" else TemplateCountModel(kind)
    result = evaluate_method(lambda x: model.fit(x), lambda m, x: m.score(x), data)
    assert 0.0 <= result["f1"] <= 1.0 and result["auprc"] > 0.2


def test_metrics() -> None:
    out = metrics(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.4, 0.3]), np.array([False, True, False, True]))
    assert out["precision"] == 0.5 and out["recall"] == 0.5 and out["f1"] == 0.5 and out["auprc"] > 0.8
