"""One Mamba (selective state-space) mixer with two kernels and one set of weights.

The parameters live in :class:`mambapy.mamba.MambaBlock` (pure PyTorch, any device) under the names of
``mamba_ssm.Mamba`` (``in_proj``, ``conv1d``, ``x_proj``, ``dt_proj``, ``A_log``, ``D``, ``out_proj``),
so a checkpoint is the same for both. On a CUDA tensor, when ``mamba_ssm`` imports, the selective
scan runs on its fused kernel; otherwise on mambapy's parallel (Blelloch) scan.
Only ``mambapy.mamba`` is imported: ``mambapy.mamba2`` / ``mambapy.lm`` load GPU kernels on import.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["SelectiveSSM", "mamba_ssm_scan"]


@cache
def mamba_ssm_scan() -> tuple[Any, str]:
    """``(selective_scan_fn, "")`` when ``mamba_ssm`` imports with CUDA, else ``(None, reason)``."""
    if not torch.cuda.is_available():
        return None, "no CUDA device, so mamba_ssm's kernels cannot run"
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as error:  # ImportError, or a CUDA/ABI error raised while loading the extension
        return None, f"mamba_ssm does not import: {error}"
    return selective_scan_fn, ""


def _mambapy_block(d_model: int, d_state: int, d_conv: int, expand: int) -> nn.Module:
    try:
        from mambapy.mamba import MambaBlock, MambaConfig
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("DMS2F-HAD needs `pip install polyad[hyperspectral]` (mambapy==1.2.0)") from error
    return MambaBlock(MambaConfig(d_model=d_model, n_layers=1, d_state=d_state, d_conv=d_conv,
                                  expand_factor=expand, pscan=True))


class SelectiveSSM(nn.Module):
    """Mamba mixer ``(N, L, D) -> (N, L, D)``; ``backend`` is ``"auto"``, ``"mambapy"`` or ``"mamba_ssm"``."""

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 backend: str = "auto") -> None:
        super().__init__()
        if backend not in ("auto", "mambapy", "mamba_ssm"):
            raise ValueError(f"unknown Mamba backend {backend!r}; expected auto, mambapy or mamba_ssm")
        self.backend = backend
        self.mixer = _mambapy_block(d_model, d_state, d_conv, expand)

    def _use_mamba_ssm(self, x: Tensor) -> bool:
        if self.backend == "mambapy":
            return False
        scan, reason = mamba_ssm_scan()
        if self.backend == "mamba_ssm" and (scan is None or not x.is_cuda):
            raise RuntimeError(f"backend 'mamba_ssm' unavailable: {reason or 'input is not on a CUDA device'}")
        return scan is not None and x.is_cuda

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(N, L, D)`` → ``(N, L, D)``."""
        m = self.mixer
        length = x.shape[1]
        xz = m.in_proj(x)
        u, z = xz.chunk(2, dim=-1)  # (N, L, E·D) each
        u = F.silu(m.conv1d(u.transpose(1, 2))[:, :, :length].transpose(1, 2))
        a = -torch.exp(m.A_log.float())  # (E·D, S)
        delta, b, c = torch.split(m.x_proj(u), [m.config.dt_rank, m.config.d_state, m.config.d_state], dim=-1)
        delta = delta @ m.dt_proj.weight.t()  # (N, L, E·D), bias added inside the scan
        if self._use_mamba_ssm(x):
            scan, _ = mamba_ssm_scan()
            y = scan(u.transpose(1, 2).contiguous(), delta.transpose(1, 2).contiguous(), a,
                     b.transpose(1, 2).contiguous(), c.transpose(1, 2).contiguous(), m.D.float(),
                     z=z.transpose(1, 2).contiguous(), delta_bias=m.dt_proj.bias.float(), delta_softplus=True)
            return m.out_proj(y.transpose(1, 2))
        delta = F.softplus(delta + m.dt_proj.bias)
        y = _scan(u, delta, a, b, c) + m.D.float() * u
        return m.out_proj(y * F.silu(z))


def _scan(u: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Selective scan ``h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t``, ``y_t = C_t · h_t`` → ``(N, L, E·D)``.

    The recurrence of mambapy's ``selective_scan_seq``, one step at a time: for the short sequences
    here (a window, a few band groups) it is faster on CPU than the padded parallel scan and never
    holds the ``(N, L, E·D, S)`` tensors in memory.
    """
    h = u.new_zeros(u.shape[0], u.shape[2], a.shape[1])  # (N, E·D, S)
    ys = []
    for t in range(u.shape[1]):
        dt = delta[:, t, :, None]  # (N, E·D, 1)
        h = torch.exp(dt * a) * h + dt * b[:, t, None, :] * u[:, t, :, None]
        ys.append((h @ c[:, t, :, None]).squeeze(-1))
    return torch.stack(ys, dim=1)
