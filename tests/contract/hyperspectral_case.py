"""Contract case of the hyperspectral modality: a small synthetic scene, fitted on itself (HAD protocol)."""

from __future__ import annotations

from typing import Any

from tests.contract.cases import ContractCase

SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "hyperspectral.dms2f_had": {"window": 3, "d_model": 8, "d_state": 4, "latent": 4, "decoder_hidden": 16,
                                "group_size": 40, "group_stride": 40, "epochs": 3, "train_pixels": 512,
                                "batch_size": 128, "patience": 3, "threads": 1},
}


def case(seed: int) -> ContractCase:
    """A 32×32 vegetation-like scene (220 bands) with 2 % sub-pixel concrete targets; units are pixels."""
    from services.hyperspectral.scenes import make_scene

    scene = make_scene("vegetation", seed=seed, size=(32, 32), target_fraction=0.02, fill=(0.4, 0.6))
    return ContractCase(scene.cube, scene.cube, scene.gt.reshape(-1), min_auroc=0.8,
                        head=lambda cube, k: cube[:1, :k])
