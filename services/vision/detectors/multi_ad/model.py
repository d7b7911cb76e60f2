"""Multi-AD networks (plain torch): SE-CNN student, teacher–student discrepancy, anomaly discriminator.

Shapes: ``B`` images, ``S`` scales (teacher taps, finest first), ``C_s`` channels of scale ``s``,
``(h_s, w_s)`` its grid; ``(h_0, w_0)`` is the finest grid, where maps are fused.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from services.vision.detectors.resampling import to_grid

__all__ = ["Discriminator", "SEBlock", "SEResidualBlock", "SEStudent", "discrepancy"]


class SEBlock(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(W2 relu(W1 avgpool(x)))``, channel attention ``(B, C, H, W)``."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.squeeze = nn.Conv2d(channels, hidden, 1)
        self.excite = nn.Conv2d(hidden, channels, 1)

    def gate(self, x: Tensor) -> Tensor:
        """Channel weights in (0, 1), ``(B, C, 1, 1)``."""
        return torch.sigmoid(self.excite(F.relu(self.squeeze(x.mean((2, 3), keepdim=True)))))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


class SEResidualBlock(nn.Module):
    """Basic residual block (two 3x3 conv + BN) with SE on the residual branch (``se=False``: none, for the
    ablation): ``(B, cin, H, W) -> (B, cout, H / stride, W / stride)``."""

    def __init__(self, cin: int, cout: int, stride: int = 1, reduction: int = 4, se: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SEBlock(cout, reduction) if se else nn.Identity()
        self.shortcut = (
            nn.Identity() if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.se(self.bn2(self.conv2(h)))
        return F.relu(h + self.shortcut(x))


class SEStudent(nn.Module):
    """Student CNN: stem (stride 2) then one SE-residual stage per scale (each halves the resolution),
    each with a 1x1 head onto the teacher's channels; image ``(B, 3, H, W)`` -> ``[(B, C_s, h_s, w_s)]``
    at strides ``4, 8, 16, ...``; ``se=False`` drops every SE block."""

    def __init__(
        self, out_channels: tuple[int, ...], width: int = 32, blocks: int = 2, reduction: int = 4, se: bool = True
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, heads, cin = [], [], width
        for s, cout in enumerate(out_channels):
            w = width * 2**s
            layers = [SEResidualBlock(cin, w, 2, reduction, se)]
            layers += [SEResidualBlock(w, w, 1, reduction, se) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            heads.append(nn.Conv2d(w, cout, 1))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.heads = nn.ModuleList(heads)

    def forward(self, x: Tensor) -> list[Tensor]:
        h, out = self.stem(x), []
        for stage, head in zip(self.stages, self.heads, strict=True):
            h = stage(h)
            out.append(head(h))
        return out


def discrepancy(teacher: list[Tensor], student: list[Tensor]) -> tuple[list[Tensor], Tensor]:
    """Per-scale, per-channel squared difference of L2-normalised features ``[(B, C_s, h_s, w_s)]``, and the
    cosine-distance maps ``(B, S, h_0, w_0)`` (``1 - cos``; each scale upsampled to the finest grid)."""
    size = teacher[0].shape[-2:]
    channel, maps = [], []
    for t, s in zip(teacher, student, strict=True):
        d = (F.normalize(t, dim=1) - F.normalize(s, dim=1)).pow(2)  # sums to 2 - 2 cos over channels
        channel.append(d)
        m = 0.5 * d.sum(1, keepdim=True)
        maps.append(to_grid(m, size))
    return channel, torch.cat(maps, 1)


class Discriminator(nn.Module):
    """Segments anomalies from discrepancies: each scale's ``(B, C_s, h_s, w_s)`` is reduced by a 1x1 conv,
    upsampled to the finest grid and stacked with the log cosine-distance maps; a small dilated CNN gives
    logits ``(B, h_0, w_0)``."""

    def __init__(self, in_channels: tuple[int, ...], reduced: int = 16, width: int = 32) -> None:
        super().__init__()
        self.reduce = nn.ModuleList(nn.Conv2d(c, reduced, 1) for c in in_channels)
        cin = reduced * len(in_channels) + len(in_channels)
        self.body = nn.Sequential(
            nn.Conv2d(cin, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, 1, 2, dilation=2, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, 1, 4, dilation=4, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 1, 1),
        )
        nn.init.constant_(self.body[-1].bias, -4.0)  # start near "all normal" (focal-loss prior)

    def forward(self, channel: list[Tensor], maps: Tensor) -> Tensor:
        size = maps.shape[-2:]
        parts = []
        for reduce, d in zip(self.reduce, channel, strict=True):
            r = reduce(torch.log1p(100.0 * d))
            parts.append(to_grid(r, size))
        parts.append(torch.log(maps.clamp_min(1e-6)))
        return self.body(torch.cat(parts, 1))[:, 0]
