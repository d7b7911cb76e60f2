"""What every medical detector shares: the batch type, preprocessing, and slice-wise scoring of volumes.

Batch type: float32 ``(n, 3, H, W)`` 2.5D stacks in [0, 1] (channels = slices ``k - d, k, k + d``, see
:mod:`services.medical.slices`), or ``(n, H, W)`` / ``(n, 1, H, W)`` single slices (grayscale repeated to
3 channels). Intensities are normalised per modality first (:mod:`services.medical.windowing`). Scores are
``(n,)``; maps ``(n, H, W)`` at the input resolution.

Volumes are scored slice by slice (:meth:`MedicalSlices.score_volume`): slice scores ``(Z,)``, a volume score
(mean of the top-k slice scores) and a 3-D map ``(X, Y, Z)`` aligned with the volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from pydantic import BaseModel, Field
from torch import Tensor

from services.core.contract import InputSpec
from services.core.errors import InvalidInputError

__all__ = ["MedicalFields", "MedicalSlices", "VolumeResult", "validate_slices"]

MIN_SIZE = 32


class MedicalFields(BaseModel):
    """Options every medical detector adds to its vision configuration."""

    neighbour_offset: int = Field(1, ge=0, le=8, description="2.5D: slices k-d, k, k+d as channels (0 = 2-D).")
    volume_topk: int = Field(3, ge=1, description="Volume score = mean of the top-k slice scores.")
    min_foreground: float = Field(0.02, ge=0.0, lt=1.0,
                                  description="Volume slices with less foreground than this are not scored.")
    volume_batch: int = Field(16, ge=1, description="Slices per pass when scoring a volume.")


@dataclass
class VolumeResult:
    """Slice-wise scoring of one volume."""

    slice_scores: np.ndarray  # float32 (Z,); unscored (empty) slices get the lowest scored value
    scored: np.ndarray  # bool (Z,): slices with enough foreground to be scored
    volume_score: float  # mean of the top-k slice scores
    anomaly_map: np.ndarray  # float32 (X, Y, Z), zero on unscored slices


def validate_slices(batch: object, max_size: int) -> np.ndarray:
    """Array-like -> float32 ``(n, 3, H, W)`` in [0, 1]; messages name what was expected."""
    try:
        arr = np.asarray(batch)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"expected slices (n, 3, H, W) or (n, H, W); got {error}") from error
    if arr.dtype.kind not in "uif":
        raise InvalidInputError(f"expected float32 slices in [0, 1], got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise InvalidInputError(f"expected slices (n, H, W), (n, 1, H, W) or 2.5D stacks (n, 3, H, W), got {arr.shape}")
    n, _, h, w = arr.shape
    if n == 0:
        raise InvalidInputError(f"expected at least one slice, got shape {arr.shape}")
    if not (MIN_SIZE <= h <= max_size and MIN_SIZE <= w <= max_size):
        raise InvalidInputError(f"expected slice height and width in [{MIN_SIZE}, {max_size}], got {h}x{w}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"expected finite intensities, got {int((~np.isfinite(arr)).sum())} NaN/inf")
    low, high = float(arr.min()), float(arr.max())
    if low < -1e-4 or high > 1 + 1e-4:
        raise InvalidInputError(f"expected intensities normalised to [0, 1] (window or normalise first), got "
                                f"[{low:.3g}, {high:.3g}]")
    if arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    return np.clip(arr, 0.0, 1.0)


class MedicalSlices:
    """Mixin over a vision detector: medical batch type, preprocessing and volume scoring."""

    modality = "medical"

    def input_spec(self) -> InputSpec:
        size = self.config.image_size
        return InputSpec(
            dtype="float32",
            shape=[-1, 3, size, size] if size else [-1, 3, -1, -1],
            description=(
                "2.5D slice stacks (n, 3, H, W) float32 in [0, 1] (channels: slices k-d, k, k+d, display "
                f"orientation) or single slices (n, H, W); {MIN_SIZE} <= H, W <= {self.config.max_size}; "
                "scores (n,), maps (n, H, W)."
            ),
        )

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        return validate_slices(batch, self.config.max_size)

    def _preprocess(self, stacks: np.ndarray) -> Tensor:
        """Validated ``(n, 3, H, W)`` in [0, 1] -> backbone input ``(n, 3, S, S)`` (resized, normalised)."""
        from services.vision.backbone import IMAGENET_MEAN, IMAGENET_STD

        x = torch.from_numpy(np.ascontiguousarray(stacks, dtype=np.float32))
        size = self.config.image_size
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std

    @staticmethod
    def _unpreprocess(x: Tensor) -> np.ndarray:
        """Backbone input ``(n, 3, S, S)`` -> stacks ``(n, 3, S, S)`` in [0, 1]."""
        from services.vision.backbone import IMAGENET_MEAN, IMAGENET_STD

        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x * std + mean).clamp(0, 1).numpy()

    def _scores_and_maps(self, stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validated ``(n, 3, H, W)`` -> scores ``(n,)`` and maps ``(n, H, W)`` at the input resolution."""
        maps = self._smoothed_maps(self._preprocess(stacks))
        scores = self._image_scores(maps).numpy().astype(np.float32)
        h, w = stacks.shape[-2:]
        if maps.shape[-2:] != (h, w):
            maps = F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        return scores, maps.numpy().astype(np.float32)

    def tensor_graph(self) -> None:
        """No exported graph yet for float 2.5D inputs (Triton export is the vision service's uint8 graph)."""
        return None

    def score_volume(self, volume: np.ndarray) -> VolumeResult:
        """Normalised volume ``(X, Y, Z)`` in [0, 1] (RAS) -> slice scores, volume score and a 3-D map."""
        from services.medical.slices import foreground_fraction, maps_to_volume, slice_stacks

        self._check_fitted()
        volume = np.asarray(volume, dtype=np.float32)
        if volume.ndim != 3 or 0 in volume.shape:
            raise InvalidInputError(f"expected a normalised volume (X, Y, Z), got shape {volume.shape}")
        cfg = self.config
        z = volume.shape[2]
        stacks = slice_stacks(volume, cfg.neighbour_offset)  # (Z, 3, Y, X)
        scored = foreground_fraction(stacks) >= cfg.min_foreground
        if not scored.any():
            scored[:] = True
        scores = np.zeros(z, np.float32)
        maps = np.zeros((z, *stacks.shape[-2:]), np.float32)
        index = np.flatnonzero(scored)
        for start in range(0, len(index), cfg.volume_batch):
            part = index[start : start + cfg.volume_batch]
            scores[part], maps[part] = self.score_and_maps(stacks[part])
        scores[~scored] = scores[scored].min()
        k = min(cfg.volume_topk, int(scored.sum()))
        volume_score = float(np.sort(scores[scored])[-k:].mean())
        return VolumeResult(scores, scored, volume_score, maps_to_volume(maps))
