"""The base every vision detector shares: input checks, resizing, map smoothing, fused batching.

Every vision detector takes RGB images ``(N, H, W, 3)`` (uint8, or float in [0, 1]), resizes them to
the model's ``image_size``, computes a low-resolution anomaly map per image, smooths it (Gaussian,
``smoothing_sigma`` pixels at model resolution) and returns image scores ``(N,)`` (mean of the top
``topk_ratio`` of the smoothed map) and maps ``(N, H, W)`` at the input resolution.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from pydantic import Field
from torch import Tensor, nn

from services.core.contract import Detector, DetectorConfig, InputSpec
from services.core.errors import InvalidInputError

__all__ = ["VisionConfig", "VisionDetector", "gaussian_blur", "shared_backbone", "validate_images"]

MIN_SIZE = 32


class VisionConfig(DetectorConfig):
    """Options every vision detector shares."""

    image_size: int | None = Field(256, ge=32, le=1024, description="Square model resolution; None = input size.")
    max_size: int = Field(2048, ge=32, description="Largest accepted input height or width.")
    smoothing_sigma: float = Field(4.0, ge=0.0, description="Gaussian sigma (model pixels) of the map.")
    topk_ratio: float = Field(0.01, gt=0.0, le=1.0, description="Image score = mean of this top fraction.")
    inference_batch: int = Field(8, ge=1, description="Images per forward pass at inference.")


@cache
def shared_backbone() -> nn.Module:
    """The frozen pretrained EfficientNet-Lite0, loaded once per process and shared by every detector."""
    from services.vision.backbone import EfficientNetLite0

    return EfficientNetLite0(pretrained=True, frozen=True)


def validate_images(batch: object, max_size: int) -> np.ndarray:
    """Any array-like -> uint8 or float32 ``(N, H, W, 3)``; messages name expected vs got."""
    try:
        arr = np.asarray(batch)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"expected an image array (N, H, W, 3); got {error}") from error
    if arr.dtype.kind not in "uif":
        raise InvalidInputError(f"expected uint8 or float images (N, H, W, 3), got dtype {arr.dtype}")
    if arr.ndim != 4:
        raise InvalidInputError(f"expected a 4-D batch (N, H, W, 3), got {arr.ndim}-D shape {arr.shape}")
    n, h, w, c = arr.shape
    if c != 3:
        raise InvalidInputError(f"expected 3 RGB channels (N, H, W, 3), got {c} channels (shape {arr.shape})")
    if n == 0:
        raise InvalidInputError(f"expected at least one image, got shape {arr.shape}")
    if not (MIN_SIZE <= h <= max_size and MIN_SIZE <= w <= max_size):
        raise InvalidInputError(f"expected height and width in [{MIN_SIZE}, {max_size}], got {h}x{w}")
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32, copy=False)
        if not np.isfinite(arr).all():
            raise InvalidInputError(f"expected finite pixel values, got {int((~np.isfinite(arr)).sum())} NaN/inf")
        low, high = float(arr.min()), float(arr.max())
        if low < 0.0 or high > 1.0:
            raise InvalidInputError(f"expected float pixels in [0, 1], got range [{low:.3g}, {high:.3g}]")
        return arr
    if arr.dtype != np.uint8:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 255:
            raise InvalidInputError(f"expected integer pixels in [0, 255], got range [{low}, {high}]")
        arr = arr.astype(np.uint8)
    return arr


def gaussian_blur(maps: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian smoothing of ``(B, h, w)`` maps (reflect padding, truncated at 4 sigma)."""
    if sigma <= 0:
        return maps
    radius = max(1, min(math.ceil(4 * sigma), min(maps.shape[-2:]) - 1))
    x = torch.arange(-radius, radius + 1, dtype=maps.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    out = F.pad(maps[:, None], (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1))
    return F.conv2d(out, kernel.view(1, 1, -1, 1))[:, 0]


class VisionDetector(Detector):
    """Base of the vision detectors: input checks, resizing, map post-processing, fused batching.

    A subclass writes ``_fit_tensor(x)`` on preprocessed images ``(N, 3, S, S)`` and
    ``_raw_maps(x) -> (B, h, w)`` (any low resolution, higher = more anomalous).
    """

    modality = "vision"
    config: VisionConfig

    def input_spec(self) -> InputSpec:
        return InputSpec(
            dtype="uint8",
            shape=[-1, size, size, 3] if (size := self.config.image_size) else [-1, -1, -1, 3],
            description=(
                f"RGB images (N, H, W, 3), uint8 or float32 in [0, 1], {MIN_SIZE} <= H, W <= "
                f"{self.config.max_size}; scores (N,), maps (N, H, W)."
            ),
        )

    def validate_input(self, batch: np.ndarray) -> np.ndarray:
        return validate_images(batch, self.config.max_size)

    def _preprocess(self, images: np.ndarray) -> Tensor:
        """Validated ``(N, H, W, 3)`` -> backbone input ``(N, 3, S, S)``."""
        from services.vision.backbone import preprocess

        images = np.ascontiguousarray(images)
        t = torch.from_numpy(images if images.flags.writeable else images.copy())  # read-only arrays (PIL, mmap)
        if t.dtype != torch.uint8:
            t = t * 255.0
        size = self.config.image_size
        return preprocess(t, None if size is None or size == t.shape[1] == t.shape[2] else size)

    @staticmethod
    def _taps(x: Tensor, layers: tuple[int, ...], chunk: int = 16) -> list[Tensor]:
        """Frozen backbone taps ``[(N, C_i, h_i, w_i)]`` for tap indices ``layers``, ``chunk`` images a pass."""
        backbone = shared_backbone()
        with torch.no_grad():
            parts = [backbone.features(x[i : i + chunk]) for i in range(0, len(x), chunk)]
        return [torch.cat([p[layer] for p in parts]) for layer in layers]

    # -- what a subclass writes ---------------------------------------------------------------
    @abstractmethod
    def _fit_tensor(self, x: Tensor) -> dict[str, Any]:
        """Learn from normal preprocessed images ``(N, 3, S, S)``; return a training summary."""

    @abstractmethod
    def _raw_maps(self, x: Tensor) -> Tensor:
        """Preprocessed images ``(B, 3, S, S)`` -> low-resolution anomaly maps ``(B, h, w)``."""

    # -- what it gets -----------------------------------------------------------------------
    def _fit(self, data: np.ndarray) -> dict[str, Any]:
        x = self._preprocess(data)
        summary = self._fit_tensor(x)
        return {"n_images": len(data), "model_size": list(x.shape[-2:]), **summary}

    def _smoothed_maps(self, x: Tensor) -> Tensor:
        """Preprocessed ``(N, 3, S, S)`` -> smoothed maps ``(N, S, S)`` at model resolution (chunked)."""
        step = self.config.inference_batch
        parts = []
        with torch.inference_mode():
            for i in range(0, len(x), step):
                chunk = x[i : i + step]
                raw = self._raw_maps(chunk)[:, None]
                up = F.interpolate(raw, size=chunk.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
                parts.append(gaussian_blur(up, self.config.smoothing_sigma))
        return torch.cat(parts)

    def _image_scores(self, maps: Tensor) -> Tensor:
        """Maps ``(N, S, S)`` -> mean of the top ``topk_ratio`` pixels ``(N,)``."""
        flat = maps.reshape(len(maps), -1)
        k = max(1, round(self.config.topk_ratio * flat.shape[1]))
        return flat.topk(k, dim=1).values.mean(1)

    def _scores_and_maps(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        maps = self._smoothed_maps(self._preprocess(images))
        scores = self._image_scores(maps).numpy().astype(np.float32)
        h, w = images.shape[1:3]
        if maps.shape[-2:] != (h, w):
            maps = F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        return scores, maps.numpy().astype(np.float32)

    def _score(self, batch: np.ndarray) -> np.ndarray:
        return self._image_scores(self._smoothed_maps(self._preprocess(batch))).numpy().astype(np.float32)

    def score_and_maps(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image scores ``(N,)`` and anomaly maps ``(N, H, W)`` (float32) from one forward pass."""
        self._check_fitted()
        return self._scores_and_maps(self.validate_input(batch))

    def explain(self, batch: np.ndarray) -> np.ndarray:
        """Anomaly maps ``(N, H, W)`` float32 at the input resolution (higher = more anomalous)."""
        return self.score_and_maps(batch)[1]

    def score_and_explain(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The contract's name for :meth:`score_and_maps`."""
        return self.score_and_maps(batch)

    def score_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Score several batches in fused forward passes (images are resized to one model size)."""
        self._check_fitted()
        tensors = [self._preprocess(self.validate_input(batch)) for batch in batches]
        if len({tuple(t.shape[-2:]) for t in tensors}) > 1:
            return [self._image_scores(self._smoothed_maps(t)).numpy().astype(np.float32) for t in tensors]
        scores = self._image_scores(self._smoothed_maps(torch.cat(tensors))).numpy().astype(np.float32)
        return list(np.split(scores, np.cumsum([len(t) for t in tensors])[:-1]))
