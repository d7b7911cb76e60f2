"""DMS2F-HAD network: shapes, gate range, ablation modes, the Mamba wrapper and its two kernels."""

from __future__ import annotations

import pytest
import torch

from services.hyperspectral.detectors.dms2f_had.model import DMS2FHAD, band_groups
from services.hyperspectral.detectors.dms2f_had.ssm import SelectiveSSM, mamba_ssm_scan
from services.hyperspectral.detectors.dms2f_had.windows import pad_cube, pixel_windows, window_offsets


def _tiny(fusion: str = "gate") -> DMS2FHAD:
    torch.manual_seed(0)
    return DMS2FHAD(30, window=3, d_model=8, d_state=4, group_size=8, group_stride=4, latent=3, fusion=fusion,
                    decoder_hidden=16, backend="mambapy")


def test_band_groups_cover_every_band() -> None:
    groups = band_groups(30, 8, 4)
    assert groups.shape[1] == 8 and int(groups[-1, -1]) == 29
    assert set(groups.reshape(-1).tolist()) == set(range(30))
    assert band_groups(5, 8, 4).shape == (1, 5)


@pytest.mark.parametrize("fusion", ["gate", "average", "spatial", "spectral"])
def test_forward_shapes(fusion: str) -> None:
    model = _tiny(fusion)
    windows = torch.randn(7, 9, 30)
    assert model(windows).shape == (7, 30)
    assert model.errors(windows).shape == (7,)
    features, gate = model.features(windows)
    assert features.shape == (7, 8)
    assert (gate is not None) == (fusion == "gate")


def test_gate_is_in_unit_interval_and_input_dependent() -> None:
    model = _tiny()
    _, gate = model.features(torch.randn(64, 9, 30) * 3)
    assert gate.shape == (64, 8) and (gate > 0).all() and (gate < 1).all()
    assert gate.std(dim=0).max() > 1e-4  # differs between pixels


def test_spatial_branch_is_blind_to_the_centre_pixel() -> None:
    model = _tiny("spatial").eval()
    windows = torch.randn(4, 9, 30)
    changed = windows.clone()
    changed[:, -1] += 5.0
    torch.testing.assert_close(model(windows), model(changed))


def test_windows_put_the_centre_last() -> None:
    offsets = window_offsets(5)
    assert offsets.shape == (25, 2) and offsets[-1].tolist() == [0, 0]
    cube = torch.arange(4 * 5 * 2, dtype=torch.float32).reshape(4, 5, 2)
    win = pixel_windows(pad_cube(cube, 3), torch.tensor([1, 3]), torch.tensor([2, 4]), window_offsets(3))
    assert win.shape == (2, 9, 2)
    torch.testing.assert_close(win[:, -1], cube[[1, 3], [2, 4]])


def test_ssm_wrapper_matches_mambapy_block() -> None:
    torch.manual_seed(0)
    ssm = SelectiveSSM(16, d_state=4, backend="mambapy")
    x = torch.randn(3, 11, 16)
    torch.testing.assert_close(ssm(x), ssm.mixer(x), rtol=1e-4, atol=1e-5)
    assert {"mixer.in_proj.weight", "mixer.A_log", "mixer.D", "mixer.dt_proj.bias"} <= set(ssm.state_dict())


def test_ssm_backends_agree_where_both_exist() -> None:
    scan, reason = mamba_ssm_scan()
    if scan is None:
        print(f"skipping the mamba_ssm comparison: {reason}")
        pytest.skip(reason)
    torch.manual_seed(0)
    a = SelectiveSSM(16, d_state=8, backend="mambapy").cuda()
    b = SelectiveSSM(16, d_state=8, backend="mamba_ssm").cuda()
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 25, 16, device="cuda")
    torch.testing.assert_close(a(x), b(x), rtol=1e-3, atol=1e-4)


def test_ssm_rejects_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown Mamba backend"):
        SelectiveSSM(8, backend="triton")
