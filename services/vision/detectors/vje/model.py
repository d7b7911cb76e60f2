"""VJE networks and likelihood (plain torch): projector, amortized posterior, Student-t polar likelihood, ELBO.

Variational Joint Embedding treats the encoder embeddings ``h`` of two views of one image as observations of a
latent-variable model. The encoder is the suite's frozen pretrained trunk (pooled features ``f``, computed by the
detector) followed by the trainable :class:`Projector`, which is what the objective trains. For the direction
``a -> b``:

* amortized posterior ``q(z | h_a) = N(mu(h_a), diag sigma^2)`` (the inference network; feature-wise scales
  ``sigma`` learned per feature, or predicted from ``h_a`` with ``sigma="amortized"``);
* prior ``p(z) = N(0, I)`` while training (the embeddings are standardised per feature, so unit scale is the
  natural prior); for scoring it is refitted (empirical Bayes, ``fit_prior``) to the full-covariance Gaussian
  moment-matched to the aggregate posterior of the normal training images;
* likelihood ``p(h_b | z)``: a Student-t (Gaussian for the ablation) in the **polar** representation of ``h_b``
  -- the log-radius ``log ||h_b||`` around ``log ||z||`` with a learned scalar scale, and the direction
  ``sqrt(D) h_b / ||h_b||`` around ``sqrt(D) z / ||z||`` with the **feature-wise scales of the posterior**,
  ``sigma(h_a)`` (the posterior's variances are the likelihood scale: no extra projection head). The direction's
  scale does not depend on either norm, so radius and direction are decoupled, and the ``log sigma`` of the
  likelihood cancels the one of the KL: shrinking the posterior does not inflate the bound. The ``cartesian`` ablation
  models ``h_b`` around ``z`` with scales ``sigma(h_a)`` directly.

``ELBO_{a->b} = E_q[log p(h_b | z)] - KL(q(z | h_a) || p(z)) <= log p(h_b)``; the symmetric conditional ELBO
averages the two directions. One-class score: the negative symmetric ELBO (an upper bound on the negative
log-likelihood of the embeddings) of two deterministic views of a test image, ``z`` at the posterior mean.

Shapes: ``B`` images, ``C`` trunk feature width, ``D`` the embedding width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["PosteriorNet", "Projector", "VJEModel", "augment", "gaussian_log_pdf", "student_t_log_pdf"]

LOG_2PI = math.log(2 * math.pi)
LOG_SIGMA_BOUNDS = (-5.0, 2.0)


def student_t_log_pdf(x: Tensor, loc: Tensor, scale: Tensor, nu: float) -> Tensor:
    """Element-wise log-density of a Student-t with ``nu`` degrees of freedom (any broadcastable shapes)."""
    z2 = ((x - loc) / scale) ** 2
    const = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
    return const - scale.log() - 0.5 * (nu + 1) * torch.log1p(z2 / nu)


def gaussian_log_pdf(x: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """Element-wise Gaussian log-density (the ablation of the heavy-tailed likelihood)."""
    return -0.5 * (((x - loc) / scale) ** 2 + LOG_2PI) - scale.log()


def augment(x: Tensor, generator: torch.Generator, strength: float = 1.0) -> Tensor:
    """A random view of each image ``(B, C, S, S) -> (B, C, S, S)``: resized crop, shift, flip, noise.

    The crop keeps 75-100 % of the side, the shift moves it within the image, the flip is horizontal (p=0.5)
    and Gaussian noise of std 0.1 (in normalised units) is added; crop and noise scale with ``strength``.
    No colour change: the views differ in geometry and noise only (grayscale data such as Fashion-MNIST).
    """
    b = len(x)
    rand = torch.rand(b, 4, generator=generator)
    scale = 1.0 - 0.25 * strength * rand[:, 0]
    shift = (1.0 - scale)[:, None] * (2 * rand[:, 1:3] - 1)
    flip = torch.where(rand[:, 3] < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out + 0.1 * strength * torch.randn(out.shape, generator=generator)


class Projector(nn.Module):
    """Trunk features ``(B, C)`` -> embeddings ``(B, D)``: input standardisation, a skip path (identity when
    ``D == C``, else a linear map) plus a two-layer MLP whose output layer starts at zero, and an affine-free batch
    normalisation (per-feature standardisation keeps the non-contrastive objective from collapsing to a constant;
    at inference it applies the running statistics, so no image sees its batch)."""

    def __init__(self, in_dim: int, embed_dim: int, hidden: int) -> None:
        super().__init__()
        self.inputs = nn.BatchNorm1d(in_dim, affine=False)
        self.skip = nn.Identity() if in_dim == embed_dim else nn.Linear(in_dim, embed_dim, bias=False)
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)
        self.norm = nn.BatchNorm1d(embed_dim, affine=False)

    def forward(self, f: Tensor) -> Tensor:
        f = self.inputs(f)
        return self.norm(self.skip(f) + self.mlp(f))


class PosteriorNet(nn.Module):
    """Amortized inference ``h (B, D) -> (mu (B, D), log_sigma (B, D))``: a residual MLP for the mean; the
    feature-wise log standard deviations are either learned per feature, shared by every input (``global``: the
    anisotropic uncertainty of each embedding feature), or predicted per input by a linear head (``amortized``);
    both are bounded, so scales stay in a sane range."""

    def __init__(self, embed_dim: int, hidden: int, sigma: str = "global") -> None:
        super().__init__()
        if sigma not in ("global", "amortized"):
            raise ValueError(f"sigma must be 'global' or 'amortized', got {sigma!r}")
        self.body = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU())
        self.mean = nn.Linear(hidden, embed_dim)
        self.log_sigma = nn.Linear(hidden if sigma == "amortized" else 1, embed_dim)
        self.amortized = sigma == "amortized"
        nn.init.zeros_(self.mean.weight)
        nn.init.zeros_(self.mean.bias)
        nn.init.zeros_(self.log_sigma.weight)
        low, high = LOG_SIGMA_BOUNDS
        nn.init.constant_(self.log_sigma.bias, math.log((-1.0 - low) / (high + 1.0)))  # log_sigma = -1 at init

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.body(h)
        low, high = LOG_SIGMA_BOUNDS
        logits = self.log_sigma(hidden if self.amortized else h.new_zeros(len(h), 1))
        return h + self.mean(hidden), low + (high - low) * torch.sigmoid(logits)


class VJEModel(nn.Module):
    """Projector + posterior + likelihood; :meth:`elbo` is the symmetric conditional ELBO per image ``(B,)``."""

    def __init__(self, in_dim: int, embed_dim: int = 32, hidden: int = 128, nu: float = 4.0,
                 likelihood: str = "student_t", representation: str = "polar", sigma: str = "global") -> None:
        super().__init__()
        if likelihood not in ("student_t", "gaussian") or representation not in ("polar", "cartesian"):
            raise ValueError(f"unknown likelihood {likelihood!r} or representation {representation!r}")
        self.nu, self.likelihood, self.representation = nu, likelihood, representation
        self.projector = Projector(in_dim, embed_dim, hidden)
        self.posterior = PosteriorNet(embed_dim, hidden, sigma)
        self.log_radial_scale = nn.Parameter(torch.tensor(-2.0))
        self.register_buffer("prior_mean", torch.zeros(embed_dim))
        self.register_buffer("prior_precision", torch.eye(embed_dim))
        self.register_buffer("prior_logdet", torch.zeros(()))

    def _log_pdf(self, x: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        if self.likelihood == "student_t":
            return student_t_log_pdf(x, loc, scale, self.nu)
        return gaussian_log_pdf(x, loc, scale)

    def log_likelihood(self, h: Tensor, z: Tensor, log_sigma: Tensor) -> Tensor:
        """``log p(h | z)`` per image ``(B,)`` for embeddings ``h (B, D)``, latents ``z (B, D)`` and the shared
        feature-wise log scales ``log_sigma (B, D)``."""
        sigma = log_sigma.exp()
        if self.representation == "cartesian":
            return self._log_pdf(h, z, sigma).sum(-1)
        r_h, r_z = h.norm(dim=-1, keepdim=True).clamp_min(1e-6), z.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        radial = self._log_pdf(r_h.log(), r_z.log(), self.log_radial_scale.exp().expand_as(r_h)).sum(-1)
        sphere = math.sqrt(h.shape[-1])  # directions on the radius-sqrt(D) sphere: unit-scale coordinates, like z
        direction = self._log_pdf(sphere * h / r_h, sphere * z / r_z, sigma).sum(-1)
        return radial + direction

    def kl_prior(self, mu: Tensor, log_sigma: Tensor) -> Tensor:
        """``KL(N(mu, sigma^2) || N(m, Sigma))`` per image ``(B,)`` under the stored prior (``N(0, I)`` until
        :meth:`fit_prior`; ``prior_precision`` is ``Sigma^-1``, ``prior_logdet`` is ``log |Sigma|``)."""
        diff = mu - self.prior_mean
        trace = ((2 * log_sigma).exp() * torch.diagonal(self.prior_precision)).sum(-1)
        maha = ((diff @ self.prior_precision) * diff).sum(-1)
        return 0.5 * (trace + maha - mu.shape[-1] + self.prior_logdet - 2 * log_sigma.sum(-1))

    @torch.no_grad()
    def fit_prior(self, f: Tensor, cov_means: Tensor | None = None) -> None:
        """Empirical-Bayes prior for scoring: the Gaussian ``N(m, Sigma)`` moment-matched to the aggregate posterior
        ``q(z) = mean_n q(z | h_n)`` of the normal training features ``(N, C)``, i.e. ``m = mean(mu_n)`` and
        ``Sigma = Cov(mu_n) + mean(diag sigma_n^2)`` (the spread of the means plus the posterior noise, so the
        KL's trace term stays on the scale of the posteriors). ``cov_means (D, D)`` replaces the estimate of
        ``Cov(mu_n)`` (e.g. a Ledoit-Wolf one); by default it is shrunk towards its diagonal by ``max(0.1, D / N)``."""
        mus, log_sigmas = self.posterior(self.projector(f))
        if cov_means is None:
            shrinkage = min(1.0, max(0.1, mus.shape[1] / len(mus)))
            cov = torch.cov(mus.T.double()) if len(mus) > 1 else torch.zeros(mus.shape[1], mus.shape[1]).double()
            cov_means = (1 - shrinkage) * cov + torch.diag(shrinkage * torch.diagonal(cov))
        cov = cov_means.double() + torch.diag((2 * log_sigmas.double()).exp().mean(0))
        self.prior_mean.copy_(mus.mean(0))
        self.prior_precision.copy_(torch.linalg.inv(cov).float())
        self.prior_logdet.copy_(torch.linalg.slogdet(cov).logabsdet.float())

    @torch.no_grad()
    def posterior_means(self, f: Tensor) -> Tensor:
        """Features ``(N, C)`` -> posterior means ``(N, D)``."""
        return self.posterior(self.projector(f))[0]

    def directed_elbo(self, h_a: Tensor, h_b: Tensor, noise: Tensor | None, kl_weight: float = 1.0) -> Tensor:
        """``ELBO_{a->b}`` per image ``(B,)``: posterior from ``h_a``, likelihood of ``h_b``; ``noise (B, D)`` draws
        the reparameterised sample (None = the posterior mean, used for deterministic scoring)."""
        mu, log_sigma = self.posterior(h_a)
        z = mu if noise is None else mu + log_sigma.exp() * noise
        return self.log_likelihood(h_b, z, log_sigma) - kl_weight * self.kl_prior(mu, log_sigma)

    def elbo(self, f_a: Tensor, f_b: Tensor, generator: torch.Generator | None = None,
             kl_weight: float = 1.0) -> Tensor:
        """Symmetric conditional ELBO per image ``(B,)`` of the trunk features of two views ``(B, C)`` (one sample
        per direction when ``generator`` is given, else the posterior means)."""
        h_a, h_b = self.projector(torch.cat([f_a, f_b])).chunk(2)
        noise = [None, None] if generator is None else [torch.randn(h_a.shape, generator=generator) for _ in "ab"]
        forward = self.directed_elbo(h_a, h_b, noise[0], kl_weight)
        return 0.5 * (forward + self.directed_elbo(h_b, h_a, noise[1], kl_weight))

    @torch.no_grad()
    def nll(self, f_a: Tensor, f_b: Tensor) -> Tensor:
        """Anomaly score per image ``(B,)``: the negative symmetric ELBO of two deterministic views' features."""
        return -self.elbo(f_a, f_b)
