"""Tipsomaly building blocks: OpenCLIP ViT architecture, key layout, and the local checkpoint loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from services.vision.detectors.tipsomaly import CheckpointError, CLIPConfig, OpenCLIP, load_openclip
from services.vision.detectors.tipsomaly.checkpoint import config_from_state_dict
from services.vision.detectors.tipsomaly.head import DecoupledPrompts, fuse

# The real architecture, scaled down (64-wide heads as in OpenCLIP, so head counts are inferable from shapes).
TINY = CLIPConfig(embed_dim=16, image_size=32, patch_size=8, vision_width=64, vision_layers=2, vision_heads=1,
                  context_length=12, vocab_size=40, text_width=64, text_layers=2, text_heads=1)
OPENCLIP_KEYS = (
    "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
    "visual.transformer.resblocks.0.attn.in_proj_weight", "visual.transformer.resblocks.1.attn.out_proj.bias",
    "visual.transformer.resblocks.0.mlp.c_fc.weight", "visual.transformer.resblocks.0.mlp.c_proj.bias",
    "visual.ln_post.bias", "visual.proj", "token_embedding.weight", "positional_embedding",
    "transformer.resblocks.1.ln_2.weight", "ln_final.weight", "text_projection", "logit_scale",
)


def test_vit_b16_has_the_published_parameter_count() -> None:
    with torch.device("meta"):
        model = OpenCLIP(CLIPConfig())  # ViT-B-16 defaults
    assert sum(p.numel() for p in model.parameters()) == 149_620_737  # OpenCLIP / OpenAI ViT-B-16


def test_state_dict_uses_openclip_key_names() -> None:
    keys = set(OpenCLIP(TINY).state_dict())
    assert set(OPENCLIP_KEYS) <= keys
    assert "attn_mask" not in keys


def test_towers_give_global_patch_and_text_embeddings() -> None:
    torch.manual_seed(0)
    model = OpenCLIP(TINY).eval()
    with torch.no_grad():
        global_, patches = model.encode_image(torch.randn(2, 3, 32, 32))
        assert global_.shape == (2, 16) and patches.shape == (2, 4, 4, 16)
        assert model.encode_image(torch.randn(1, 3, 48, 48))[1].shape == (1, 6, 6, 16)  # interpolated positions
        tokens = torch.tensor([[38, 5, 6, 39, 0, 0, 0, 0, 0, 0, 0, 0], [38, 7, 39, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
        text = model.encode_text(tokens)
        assert text.shape == (2, 16)
        embedded = model.token_embedding(tokens)
        torch.testing.assert_close(model.encode_text_embeddings(embedded, tokens.argmax(-1)), text)


@pytest.mark.parametrize("layout", ["safetensors", "torch_nested_ddp"])
def test_checkpoint_round_trip_from_disk(tmp_path: Path, layout: str) -> None:
    torch.manual_seed(1)
    source = OpenCLIP(TINY).eval()
    state = {k: v.clone() for k, v in source.state_dict().items()}
    if layout == "safetensors":
        from safetensors.torch import save_file

        path = tmp_path / "open_clip_model.safetensors"
        save_file(state, str(path))
    else:
        path = tmp_path / "epoch_1.pt"
        torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    assert config_from_state_dict(state) == TINY
    loaded = load_openclip(path)
    images, tokens = torch.randn(2, 3, 32, 32), torch.tensor([[38, 3, 39] + [0] * 9])
    with torch.no_grad():
        for a, b in zip(loaded.encode_image(images), source.encode_image(images), strict=True):
            torch.testing.assert_close(a, b)
        torch.testing.assert_close(loaded.encode_text(tokens), source.encode_text(tokens))


def test_bad_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_openclip(tmp_path / "nope.safetensors")
    from safetensors.torch import save_file

    state = OpenCLIP(TINY).state_dict()
    state.pop("visual.proj")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "partial.safetensors"))
    with pytest.raises(CheckpointError, match=r"visual\.proj"):
        load_openclip(tmp_path / "partial.safetensors")


def _prompts() -> tuple[OpenCLIP, DecoupledPrompts]:
    torch.manual_seed(2)
    clip = OpenCLIP(TINY).eval().requires_grad_(False)
    pad = [0] * 8
    fixed = torch.tensor([[[38, 3, 4, 39, *pad], [38, 5, 4, 39, *pad]], [[38, 6, 4, 39, *pad], [38, 7, 4, 39, *pad]]])
    template = torch.tensor([[38, 1, 1, 1, 4, 39, *pad[:6]], [38, 1, 1, 1, 4, 39, *pad[:6]]])
    return clip, DecoupledPrompts(clip, fixed, template, n_ctx=3)


def test_prompts_are_decoupled() -> None:
    _, prompts = _prompts()
    assert [name for name, _ in prompts.named_parameters()] == ["context"]  # only pixel-level prompts learn
    image_text = prompts.image_text.clone()
    before = prompts.pixel_text().detach()
    prompts.pixel_text()[1].sum().backward()
    assert prompts.context.grad.abs().sum() > 0
    with torch.no_grad():
        prompts.context.mul_(50.0)  # (a constant shift would vanish in the LayerNorms)
    assert not torch.allclose(prompts.pixel_text(), before)
    torch.testing.assert_close(prompts.image_text, image_text)  # image-level prompts are fixed
    assert prompts.image_text.shape == before.shape == (2, 16)


def test_fusion_shapes_resolution_and_local_evidence() -> None:
    clip, prompts = _prompts()
    with torch.no_grad():
        global_, patches = clip.encode_image(torch.randn(3, 3, 32, 32))
        scores, maps = fuse(global_, patches, prompts.image_text, prompts.pixel_text(), (50, 40), fusion_weight=0.5)
        assert scores.shape == (3,) and maps.shape == (3, 50, 40)
        assert ((maps >= 0) & (maps <= 1)).all()
        global_only, _ = fuse(global_, patches, prompts.image_text, prompts.pixel_text(), (50, 40), fusion_weight=0.0)
        assert (scores > global_only).all()  # local evidence raises the image score
