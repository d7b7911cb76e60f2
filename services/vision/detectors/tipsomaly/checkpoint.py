"""Local OpenCLIP ViT checkpoint loading: read, normalise keys, infer the architecture, load strictly.

Accepted files: ``.safetensors``, or a ``torch.save`` file read with ``torch.load(weights_only=True)`` (no pickle
code runs). Accepted layouts: OpenCLIP's own state dict (``visual.conv1.weight``, ``transformer.resblocks.0...``,
``text_projection``, ``logit_scale``), the same nested under ``state_dict`` (training checkpoints), and keys
prefixed ``module.`` (DistributedDataParallel). Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from services.vision.detectors.tipsomaly.model import CLIPConfig, OpenCLIP

__all__ = ["CheckpointError", "config_from_state_dict", "load_openclip", "normalise_keys", "read_state_dict"]

IGNORED = ("attn_mask", "visual.attn_mask", "input_resolution", "context_length", "vocab_size")


class CheckpointError(ValueError):
    """The checkpoint file is missing, unreadable or not an OpenCLIP ViT state dict (the message says why)."""


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Tensors of a ``.safetensors`` or ``torch.save`` file (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"VLM checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unpickling refusal is the same user-facing problem
        raise CheckpointError(f"cannot read {path} with torch.load(weights_only=True): {error}") from error
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def normalise_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Strip ``module.`` prefixes and drop non-parameter entries (masks, scalars some exports add)."""
    out = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key in IGNORED or not isinstance(value, Tensor):
            continue
        out[key] = value
    return out


def config_from_state_dict(state: dict[str, Tensor]) -> CLIPConfig:
    """The architecture, read from tensor shapes (as OpenCLIP does for OpenAI checkpoints)."""
    try:
        conv = state["visual.conv1.weight"]  # (W_v, 3, p, p)
        grid_tokens = state["visual.positional_embedding"].shape[0] - 1
        vision_layers = len({k.split(".")[3] for k in state if k.startswith("visual.transformer.resblocks.")})
        text_layers = len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")})
        text_width = state["ln_final.weight"].shape[0]
        mlp_hidden = state["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0]
    except KeyError as error:
        raise CheckpointError(f"not an OpenCLIP ViT state dict: missing {error.args[0]!r}") from error
    grid = round(grid_tokens**0.5)
    if grid * grid != grid_tokens:
        raise CheckpointError(f"visual.positional_embedding has {grid_tokens} patch positions, not a square grid")
    return CLIPConfig(
        embed_dim=state["text_projection"].shape[1],
        image_size=grid * conv.shape[-1],
        patch_size=conv.shape[-1],
        vision_width=conv.shape[0],
        vision_layers=vision_layers,
        vision_heads=max(1, conv.shape[0] // 64),
        context_length=state["positional_embedding"].shape[0],
        vocab_size=state["token_embedding.weight"].shape[0],
        text_width=text_width,
        text_layers=text_layers,
        text_heads=max(1, text_width // 64),
        mlp_ratio=mlp_hidden / conv.shape[0],
    )


def load_openclip(path: str | Path, cfg: CLIPConfig | None = None) -> OpenCLIP:
    """An :class:`OpenCLIP` in eval mode with the checkpoint's weights (strict: every key must match).

    ``cfg`` overrides the inferred architecture (head counts cannot be read from shapes: OpenCLIP's ViT
    models use 64-wide heads, which is what is inferred).
    """
    state = normalise_keys(read_state_dict(path))
    model = OpenCLIP(cfg or config_from_state_dict(state))
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{path}: missing keys {missing[:5]} ({len(missing)}), unexpected keys "
                              f"{unexpected[:5]} ({len(unexpected)})")
    wrong = [k for k, v in expected.items() if v.shape != state[k].shape]
    if wrong:
        raise CheckpointError(f"{path}: shape mismatch for {wrong[:5]} (e.g. {wrong[0]}: checkpoint "
                              f"{tuple(state[wrong[0]].shape)}, model {tuple(expected[wrong[0]].shape)})")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
