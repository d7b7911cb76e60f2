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


def test_value_model_flags_a_parameter_far_from_its_key_values() -> None:
    from services.logs.baselines import DeepLog, ValueModel

    train = np.array([f"1 2 INFO sent {n} bytes to node\n1 2 INFO done" for n in range(100, 400, 3)], dtype=object)
    test = np.array(["1 2 INFO sent 250 bytes to node\n1 2 INFO done",
                     "1 2 INFO sent 9000000 bytes to node\n1 2 INFO done"], dtype=object)
    normal, odd = ValueModel().fit(train).score(test)
    assert odd > 100 * max(normal, 1.0)
    keys_only, with_values = DeepLog(epochs=1).fit(train), DeepLog(epochs=1, values=True).fit(train)
    assert keys_only.score(test)[1] - keys_only.score(test)[0] < 1.0  # the key model cannot see values
    assert with_values.score(test)[1] > 10 * with_values.score(test)[0]


def test_iforest_template_counts_see_a_template_first_seen_at_test_time() -> None:
    from services.logs.baselines import TemplateCountModel

    rng = np.random.default_rng(0)
    lines = ["open file", "read block", "close file", "rotate log"]
    train = np.array(["\n".join(f"1 2 {lines[i]}" for i in rng.integers(0, 3, 6)) + (
        "\n1 2 rotate log" if k % 150 == 0 else "") for k in range(400)], dtype=object)
    test = np.array(["1 2 open file\n1 2 read block\n1 2 close file",
                     "1 2 open file\n1 2 kernel panic at cpu\n1 2 close file"], dtype=object)
    model = TemplateCountModel("iforest").fit(train)
    rotate = model.templates.transform(np.array(["1 2 rotate log"], dtype=object))[0][0]
    assert rotate > 0 and model.column[rotate] == 0  # a rare training template shares the unseen column
    normal, new = model.score(test)
    assert new > normal
