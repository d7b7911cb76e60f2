"""Online codebook adaptation: codebook pseudo-labels + InfoNCE, a few SGD steps at inference.

The adapted parameters are the codebook ``(S, K, d)`` and a per-scale affine adapter on the
embeddings, ``z -> z + z @ W_s + b_s`` (``W`` ``(S, d, d)``, ``b`` ``(S, d)``, identity at fit).
Each patch embedding is assigned to its nearest codeword (its pseudo-label); only confident
assignments are kept (quantisation error at most the training ``adapt_quantile`` of that scale).
The loss is InfoNCE with the assigned codeword as positive and the other codewords as negatives,
plus an alignment pull to the positive (InfoNCE alone only sharpens the assignment; it does not
shrink the quantisation error of shifted-but-normal patches)::

    D_k = ||A_s(z) - e_k||^2 / s^2,   loss = cross_entropy(-D / tau, pseudo_label) + alignment * D_label

where ``s`` is the scale's median training quantisation error (so ``tau`` is unit-free).
Plain SGD with the global gradient norm clipped to 1 (no optimiser state), so each step moves the
parameters by at most ``lr`` and a stream's adapted copy is three plain arrays.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from services.core.errors import InvalidInputError
from services.timeseries.detectors.comet.model import CometNet

__all__ = ["PARAM_KEYS", "AdaptParams", "adapt_parameters", "params_from_state", "params_to_state"]

AdaptParams = tuple[Tensor, Tensor, Tensor]
"""(codebook ``(S, K, d)``, adapter weight ``(S, d, d)``, adapter bias ``(S, d)``)."""
PARAM_KEYS = ("codebook", "adapter_weight", "adapter_bias")


def adapt_parameters(
    params: AdaptParams,
    embeddings: list[Tensor],
    max_error: Tensor,
    error_scale: Tensor,
    lr: float,
    steps: int,
    temperature: float,
    alignment: float = 1.0,
) -> tuple[AdaptParams, int]:
    """Adapted copies of ``params`` and the number of confident patches used.

    ``embeddings[s]`` holds raw (un-adapted) embeddings ``(N_s, d)`` of scale ``s``;
    ``max_error`` and ``error_scale`` are ``(S,)``.
    """
    with torch.inference_mode(False), torch.enable_grad():
        book, weight, bias = (t.detach().clone().requires_grad_(True) for t in params)
        selected: list[tuple[int, Tensor, Tensor]] = []
        with torch.no_grad():
            for s, raw in enumerate(embeddings):
                z = raw.detach().clone().reshape(-1, book.shape[-1])
                dist, label = torch.cdist(CometNet.adapt(z, weight[s], bias[s]), book[s]).min(dim=1)
                keep = dist <= max_error[s]
                if bool(keep.any()):
                    selected.append((s, z[keep], label[keep]))
        if not selected:
            return tuple(t.detach().clone() for t in params), 0  # type: ignore[return-value]
        tensors = [book, weight, bias]
        for _ in range(steps):
            loss = book.new_zeros(())
            for s, z, label in selected:
                dist2 = torch.cdist(CometNet.adapt(z, tensors[1][s], tensors[2][s]), tensors[0][s]).pow(2)
                dist2 = dist2 / float(error_scale[s]) ** 2
                loss = loss + F.cross_entropy(-dist2 / temperature, label)
                loss = loss + alignment * dist2.gather(1, label[:, None]).mean()
            grads = torch.autograd.grad(loss, tensors)
            norm = float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))
            grads = [g * min(1.0, 1.0 / (norm + 1e-12)) for g in grads]  # clip the global norm to 1
            tensors = [
                (t - lr * g).detach().requires_grad_(True) for t, g in zip(tensors, grads, strict=True)
            ]
    used = sum(int(z.shape[0]) for _, z, _ in selected)
    return (tensors[0].detach(), tensors[1].detach(), tensors[2].detach()), used


def params_to_state(params: AdaptParams) -> dict[str, np.ndarray]:
    """Adapted parameters -> named float32 arrays for a stream state."""
    return {
        key: t.detach().numpy().astype(np.float32, copy=True)
        for key, t in zip(PARAM_KEYS, params, strict=True)
    }


def params_from_state(state: dict[str, np.ndarray], reference: AdaptParams) -> AdaptParams | None:
    """Named arrays -> parameters (``None`` when the state carries none); shapes must match ``reference``."""
    if not any(key in state for key in PARAM_KEYS):
        return None
    out = []
    for key, ref in zip(PARAM_KEYS, reference, strict=True):
        value = np.asarray(state.get(key, np.zeros(0)), dtype=np.float32)
        if value.shape != tuple(ref.shape):
            raise InvalidInputError(
                f"expected stream state {key!r} of shape {tuple(ref.shape)}, got {value.shape}"
            )
        out.append(torch.from_numpy(value.copy()))
    return out[0], out[1], out[2]
