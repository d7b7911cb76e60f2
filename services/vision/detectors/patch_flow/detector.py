"""Patch-flow detector glue: neighbor-aware features per scale, one :class:`ScaleFlow` each, fused NLL maps."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

from services.vision.detectors.base import VisionDetector
from services.vision.detectors.patch_flow.config import PatchFlowConfig
from services.vision.detectors.patch_flow.model import neighbor_aware_features
from services.vision.detectors.patch_flow.scale import ScaleFlow
from services.vision.detectors.resampling import to_grid

__all__ = ["PatchFlowConfig", "PatchFlowDetector"]


class PatchFlowDetector(VisionDetector):
    """Neighbor-aware patch features + adapter + position-conditioned normalizing flow (die-casting paper)."""

    name = "patch_flow"
    Config = PatchFlowConfig
    config: PatchFlowConfig

    def __init__(self, config: PatchFlowConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self.scales_: list[ScaleFlow] = []

    def _scale_taps(self) -> list[tuple[int, ...]]:
        """Which taps each scale reads: all of them together, or one each with ``per_tap_flows``."""
        layers = self.config.layers
        return [(layer,) for layer in layers] if self.config.per_tap_flows else [tuple(layers)]

    def _scale_features(self, x: Tensor) -> list[Tensor]:
        """Images ``(B, 3, S, S)`` -> one neighbor-aware feature map ``(B, C_k, h_k, w_k)`` per scale."""
        layers = self.config.layers
        taps = dict(zip(layers, self._taps(x, layers), strict=True))
        return [neighbor_aware_features([taps[t] for t in group], self.config.neighbourhood)
                for group in self._scale_taps()]

    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        self.scales_ = [ScaleFlow(self.config) for _ in self._scale_taps()]
        summaries = [scale.fit(feats, f"patch-flow training, taps {list(group)}")
                     for scale, feats, group in zip(self.scales_, self._scale_features(x), self._scale_taps(),
                                                    strict=True)]
        return summaries[0] if len(summaries) == 1 else {"scales": summaries}

    def _raw_maps(self, x: Tensor) -> Tensor:
        maps = [scale.map(feats)[:, None] for scale, feats in zip(self.scales_, self._scale_features(x), strict=True)]
        size = maps[0].shape[-2:]  # the first tap's grid, as neighbor_aware_features upsamples to it
        return sum(to_grid(m, size) for m in maps)[:, 0] / len(maps)

    # -- persistence ------------------------------------------------------------------------
    @staticmethod
    def _prefix(k: int) -> str:
        return "" if k == 0 else f"scale{k}."

    def state_dict(self) -> dict[str, np.ndarray]:
        return {key: value for k, scale in enumerate(self.scales_)
                for key, value in scale.state_dict(self._prefix(k)).items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.scales_ = [ScaleFlow(self.config) for _ in self._scale_taps()]
        for k, scale in enumerate(self.scales_):
            scale.load_state_dict(state, self._prefix(k))
