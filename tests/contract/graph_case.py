"""Contract case of the graph modality: small SBM snapshots, train on the first two, score the third."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "graph.ego_diffusion": {"epochs": 10, "steps_per_epoch": 8, "batch_size": 64, "hidden": 32,
                            "diffusion_train_steps": 30, "diffusion_steps": 8, "diffusion_hidden": 32,
                            "diffusion_layers": 1, "synthetic_per_epoch": 16, "warmup_epochs": 1,
                            "ego_max_nodes": 12, "explain_candidates": 8},
}


def case(seed: int) -> ContractCase:
    """Two labelled 300-node training snapshots (packed); a later snapshot with an unseen anomaly type."""
    from services.graph.batch import restrict_targets, union
    from services.graph.data import sbm

    data = sbm(n_nodes=300, n_snapshots=3, n_train=2, per_type=8, seed=seed)
    train = union([data.snapshots[i] for i in data.train])
    test = data.snapshots[2]
    return ContractCase(train, replace(test, y=None), (test.y > 0).astype("int8"), min_auroc=0.7,
                        head=restrict_targets)
