"""Contract case of the medical modality: retinal OCT B-scan phantoms (no system data needed), 96x96 stacks."""

from __future__ import annotations

from typing import Any

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "medical.multi_ad": {"image_size": 96, "kd_steps": 30, "kd_crop": 64, "synthetic_per_image": 1,
                         "disc_steps": 20, "disc_batch": 8, "student_width": 16, "student_blocks": 1},
    "medical.patchcore": {"image_size": 96, "layers": [0, 1], "coreset_ratio": 0.05},
}


def case(seed: int) -> ContractCase:
    """16 normal 96x96 OCT stacks; 40 test stacks, every other one with fluid / subretinal fluid / drusen."""
    from services.medical.data.oct import oct_set

    data = oct_set(n_train=16, n_val=1, n_test=40, seed=seed, h=96, w=96)
    return ContractCase(data.train, data.test, data.test_labels, min_auroc=0.7)
