"""VJE: likelihood maths, polar form, symmetric ELBO, prior refit, detector round trip, Fashion-MNIST loader."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from services.vision.detectors.vje import VJEDetector
from services.vision.detectors.vje.model import VJEModel, augment, gaussian_log_pdf, student_t_log_pdf
from services.vision.fashion_mnist import (
    FashionMNISTMissingError,
    find_fashion_mnist,
    load_fashion_mnist,
    one_class_split,
    to_rgb,
)

TINY = {"image_size": 32, "epochs": 1, "batch_size": 4, "embed_dim": 8, "hidden": 8, "views": 2, "layers": [1]}


def test_log_pdfs_match_torch_distributions() -> None:
    x, loc, scale = torch.randn(50), torch.randn(50), torch.rand(50) + 0.1
    expected_t = torch.distributions.StudentT(4.0, loc, scale).log_prob(x)
    torch.testing.assert_close(student_t_log_pdf(x, loc, scale, 4.0), expected_t)
    torch.testing.assert_close(gaussian_log_pdf(x, loc, scale), torch.distributions.Normal(loc, scale).log_prob(x))


def test_kl_under_default_prior_matches_torch() -> None:
    model = VJEModel(10, embed_dim=6, hidden=8)
    mu, log_sigma = torch.randn(3, 6), 0.3 * torch.randn(3, 6)
    q = torch.distributions.Normal(mu, log_sigma.exp())
    expected = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(model.kl_prior(mu, log_sigma), expected)


def test_polar_likelihood_separates_radius_from_direction() -> None:
    model = VJEModel(10, embed_dim=6, hidden=8)
    h, log_sigma = torch.randn(4, 6), torch.full((4, 6), -1.0)
    at_mode = model.log_likelihood(h, h, log_sigma)
    scaled = model.log_likelihood(2.0 * h, h, log_sigma)  # same direction, radius doubled
    rotated = model.log_likelihood(h.roll(1, -1), h, log_sigma)  # same radius, other direction
    assert (at_mode > scaled).all() and (at_mode > rotated).all()
    with torch.no_grad():  # a wider radial scale forgives the radius change, not the direction change
        model.log_radial_scale.fill_(2.0)
    assert (model.log_likelihood(2.0 * h, h, log_sigma) - model.log_likelihood(h, h, log_sigma)).abs().max() < 1.0
    cartesian = VJEModel(10, embed_dim=6, hidden=8, representation="cartesian")
    assert not torch.allclose(cartesian.log_likelihood(h, h, log_sigma), at_mode)


def test_likelihood_scale_is_the_posterior_sigma() -> None:
    model = VJEModel(10, embed_dim=6, hidden=8)
    h, z = torch.randn(4, 6), torch.randn(4, 6)
    log_sigma = torch.zeros(4, 6, requires_grad=True)
    model.log_likelihood(h, z, log_sigma).sum().backward()
    assert log_sigma.grad.abs().sum() > 0


def test_symmetric_elbo_and_deterministic_scoring() -> None:
    torch.manual_seed(0)
    model = VJEModel(12, embed_dim=8, hidden=8).eval()
    a, b = torch.randn(5, 12), torch.randn(5, 12)
    with torch.no_grad():
        torch.testing.assert_close(model.elbo(a, b), model.elbo(b, a))
        assert model.elbo(a, b).shape == (5,)
        torch.testing.assert_close(model.nll(a, b), model.nll(b, a))
    for name in ("student_t", "gaussian"):
        assert torch.isfinite(VJEModel(12, 8, 8, likelihood=name).eval().nll(a, b)).all()


def test_fit_prior_centres_on_the_training_posteriors() -> None:
    torch.manual_seed(0)
    model = VJEModel(12, embed_dim=4, hidden=8).eval()
    f = torch.randn(400, 12)
    model.fit_prior(f)
    with torch.no_grad():
        mus, log_sigmas = model.posterior(model.projector(f))
    torch.testing.assert_close(model.prior_mean, mus.mean(0))
    # moment-matched to the aggregate posterior: Cov(mu) (shrunk by 0.1 towards its diagonal) + mean sigma^2
    cov = torch.linalg.inv(model.prior_precision.double())
    expected = 0.9 * torch.cov(mus.T.double()) + torch.diag(0.1 * mus.double().var(0) + (2 * log_sigmas).exp().mean(0))
    torch.testing.assert_close(cov, expected, rtol=1e-3, atol=1e-4)


def test_augment_is_seeded_and_keeps_shape() -> None:
    x = torch.randn(3, 3, 32, 32)
    one = augment(x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(one, augment(x, torch.Generator().manual_seed(1)))
    assert one.shape == x.shape and not torch.allclose(one, x)


def test_detector_fits_scores_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    detector = VJEDetector(TINY).fit(train)
    scores, maps = detector.score_and_maps(train[:3])
    assert scores.shape == (3,) and maps.shape == (3, 32, 32) and np.isfinite(scores).all()
    np.testing.assert_allclose(maps.reshape(3, -1).max(1), scores, rtol=1e-5)  # image-level: a constant map
    detector.save(tmp_path)
    np.testing.assert_array_equal(VJEDetector.load(tmp_path).score(train[:3]), detector.score(train[:3]))


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_loader_reads_idx_files_from_a_user_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    images, labels = load_fashion_mnist("test", tmp_path)
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8 and labels.tolist()[:3] == [0, 1, 2]
    split = one_class_split(3, n_train=2, n_val=4, n_test=10, seed=0, folder=tmp_path)
    assert split.train.shape == (2, 28, 28) and split.val.shape == (4, 28, 28)
    assert split.val_labels.tolist() == [0, 0, 1, 1] and split.test_labels.shape == (10,)
    assert to_rgb(split.train).shape == (2, 32, 32, 3)


def test_missing_files_say_which_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FashionMNISTMissingError, match="dataset-fashion-mnist"):
        find_fashion_mnist(tmp_path)


def test_debian_package_files_when_installed() -> None:
    try:
        images, labels = load_fashion_mnist("test")
    except FashionMNISTMissingError as error:
        pytest.skip(str(error))
    assert images.shape == (10000, 28, 28) and np.bincount(labels).tolist() == [1000] * 10


def test_scores_do_not_depend_on_the_batch() -> None:
    rng = np.random.default_rng(1)
    train = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    test = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    detector = VJEDetector(TINY).fit(train)
    np.testing.assert_allclose(detector.score(test[:2]), detector.score(test)[:2], rtol=1e-5)


def test_global_posterior_scale_is_shared_by_every_input() -> None:
    model = VJEModel(12, embed_dim=6, hidden=8)
    _, log_sigma = model.posterior(torch.randn(5, 6))
    assert torch.equal(log_sigma, log_sigma[:1].expand_as(log_sigma))
    amortized = VJEModel(12, embed_dim=6, hidden=8, sigma="amortized")
    with torch.no_grad():
        amortized.posterior.log_sigma.weight.normal_()
    _, log_sigma = amortized.posterior(torch.randn(5, 6))
    assert not torch.equal(log_sigma, log_sigma[:1].expand_as(log_sigma))


def test_one_class_fashion_mnist_trousers_are_told_apart() -> None:
    """Real data, tiny run: 40 trousers for training; 100 held-out test images of every class."""
    try:
        split = one_class_split(1, n_train=40, n_test=100, seed=0)
    except FashionMNISTMissingError as error:
        pytest.skip(str(error))
    detector = VJEDetector(seed=0, views=2).fit(to_rgb(split.train))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(split.test_labels, detector.score(to_rgb(split.test))) > 0.85
