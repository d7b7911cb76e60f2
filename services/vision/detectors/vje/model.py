"""VJE networks and likelihood (plain torch): encoder, amortized posterior, Student-t polar likelihood, ELBO.

Variational Joint Embedding treats the encoder embeddings of two views of one image as observations of a
latent-variable model. For the direction ``a -> b``:

* amortized posterior ``q(z | h_a) = N(mu(h_a), diag sigma(h_a)^2)`` (the inference network);
* prior ``p(z) = N(0, I)`` while training (the embeddings are batch-standardised, so unit scale is the natural
  prior); for scoring it is refitted (empirical Bayes) to a full-covariance Gaussian over the posterior means
  of the normal training images, so the KL term measures how atypical an image's posterior is;
* likelihood ``p(h_b | z)``: a Student-t (or, for the ablation, Gaussian) in the **polar** representation of
  ``h_b`` -- the log-radius ``log ||h_b||`` around ``log ||z||`` with a learned scalar scale, and the direction
  ``h_b / ||h_b||`` around ``z / ||z||`` with the **feature-wise scales of the posterior**, ``sigma(h_a) / ||z||``
  (the posterior's variances are shared with the likelihood scale: no extra projection head). The
  ``cartesian`` ablation models ``h_b`` around ``z`` with scales ``sigma(h_a)`` directly.

``ELBO_{a->b} = E_q[log p(h_b | z)] - KL(q(z | h_a) || p(z))``; the symmetric conditional ELBO averages the
two directions. One-class scoring: the negative symmetric ELBO (an upper bound on the negative
log-likelihood) of a test image's two deterministic views, the plug-in posterior mean for ``z``.

Shapes: ``B`` images, ``S`` the model side, ``D`` the embedding width.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

__all__ = ["ConvEncoder", "PosteriorNet", "VJEModel", "augment", "gaussian_log_pdf", "student_t_log_pdf"]

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
    """A random view of each image ``(B, C, S, S) -> (B, C, S, S)``: resized crop, flip, shift, contrast, noise.

    The crop keeps 70-100 % of the side, the shift moves it within the image, the flip is horizontal (p=0.5),
    contrast/brightness vary by +-20 % and Gaussian noise of std 0.05 is added (all scaled by ``strength``).
    """
    b = len(x)
    rand = torch.rand(b, 6, generator=generator)
    scale = 1.0 - 0.3 * strength * rand[:, 0]
    shift = (1.0 - scale)[:, None] * (2 * rand[:, 1:3] - 1)
    flip = torch.where(rand[:, 3] < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 1.0 + 0.4 * strength * (rand[:, 4] - 0.5)
    bright = 0.4 * strength * (rand[:, 5] - 0.5)
    out = out * contrast.view(b, 1, 1, 1) + bright.view(b, 1, 1, 1)
    return out + 0.05 * strength * torch.randn(out.shape, generator=generator)


class ConvEncoder(nn.Module):
    """Images ``(B, 3, S, S)`` -> embeddings ``(B, D)``: three stride-2 conv stages, global average pool, a linear
    map and an affine-free batch normalisation (per-feature standardisation keeps the non-contrastive objective from
    collapsing to a constant)."""

    def __init__(self, embed_dim: int = 64, width: int = 32) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], embed_dim)
        self.norm = nn.BatchNorm1d(embed_dim, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.head(self.features(x).mean((-2, -1))))


class PosteriorNet(nn.Module):
    """Amortized inference ``h (B, D) -> (mu (B, D), log_sigma (B, D))``: a residual MLP for the mean, a
    linear head for the feature-wise log standard deviations (bounded, so scales stay in a sane range)."""

    def __init__(self, embed_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU())
        self.mean = nn.Linear(hidden, embed_dim)
        self.log_sigma = nn.Linear(hidden, embed_dim)
        nn.init.zeros_(self.mean.weight)
        nn.init.zeros_(self.mean.bias)
        nn.init.zeros_(self.log_sigma.weight)
        low, high = LOG_SIGMA_BOUNDS
        nn.init.constant_(self.log_sigma.bias, math.log((-1.0 - low) / (high + 1.0)))  # log_sigma = -1 at init

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.body(h)
        low, high = LOG_SIGMA_BOUNDS
        log_sigma = low + (high - low) * torch.sigmoid(self.log_sigma(hidden))
        return h + self.mean(hidden), log_sigma


class VJEModel(nn.Module):
    """Encoder + posterior + likelihood; :meth:`elbo` is the symmetric conditional ELBO per image ``(B,)``."""

    def __init__(self, embed_dim: int = 64, width: int = 32, hidden: int = 128, nu: float = 4.0,
                 likelihood: str = "student_t", representation: str = "polar") -> None:
        super().__init__()
        if likelihood not in ("student_t", "gaussian") or representation not in ("polar", "cartesian"):
            raise ValueError(f"unknown likelihood {likelihood!r} or representation {representation!r}")
        self.nu, self.likelihood, self.representation = nu, likelihood, representation
        self.encoder = ConvEncoder(embed_dim, width)
        self.posterior = PosteriorNet(embed_dim, hidden)
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
        direction = self._log_pdf(h / r_h, z / r_z, sigma / r_z).sum(-1)
        return radial + direction

    @staticmethod
    def kl_standard_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
        """``KL(N(mu, sigma^2) || N(0, I))`` per image ``(B,)``."""
        return 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 1.0 - 2 * log_sigma).sum(-1)

    def kl_prior(self, mu: Tensor, log_sigma: Tensor) -> Tensor:
        """``KL(N(mu, sigma^2) || N(m, Sigma))`` per image ``(B,)`` under the stored prior (``N(0, I)`` until
        :meth:`fit_prior`; ``prior_precision`` is ``Sigma^-1``, ``prior_logdet`` is ``log |Sigma|``)."""
        diff = mu - self.prior_mean
        trace = ((2 * log_sigma).exp() * torch.diagonal(self.prior_precision)).sum(-1)
        maha = ((diff @ self.prior_precision) * diff).sum(-1)
        return 0.5 * (trace + maha - mu.shape[-1] + self.prior_logdet - 2 * log_sigma.sum(-1))

    @torch.no_grad()
    def fit_prior(self, x: Tensor, chunk: int = 256) -> None:
        """Empirical-Bayes prior for scoring: a full-covariance Gaussian ``N(m, Sigma)`` fitted to the posterior
        means of the normal training images ``(N, 3, S, S)``; the covariance is shrunk towards its diagonal by
        ``max(0.1, D / N)`` (fully diagonal when there are fewer images than dimensions)."""
        mus = torch.cat([self.posterior(self.encoder(x[i: i + chunk]))[0] for i in range(0, len(x), chunk)])
        mean = mus.mean(0)
        shrinkage = min(1.0, max(0.1, mus.shape[1] / len(mus)))
        cov = torch.cov(mus.T.double()) if len(mus) > 1 else torch.eye(mus.shape[1], dtype=torch.float64)
        cov = (1 - shrinkage) * cov + shrinkage * torch.diag(torch.diagonal(cov)) + 1e-4 * torch.eye(len(cov))
        self.prior_mean.copy_(mean)
        self.prior_precision.copy_(torch.linalg.inv(cov).float())
        self.prior_logdet.copy_(torch.linalg.slogdet(cov).logabsdet.float())

    def directed_elbo(self, h_a: Tensor, h_b: Tensor, noise: Tensor | None, kl_weight: float = 1.0) -> Tensor:
        """``ELBO_{a->b}`` per image ``(B,)``: posterior from ``h_a``, likelihood of ``h_b``; ``noise (B, D)`` draws
        the reparameterised sample (None = the posterior mean, used for deterministic scoring)."""
        mu, log_sigma = self.posterior(h_a)
        z = mu if noise is None else mu + log_sigma.exp() * noise
        return self.log_likelihood(h_b, z, log_sigma) - kl_weight * self.kl_prior(mu, log_sigma)

    def elbo(self, x_a: Tensor, x_b: Tensor, generator: torch.Generator | None = None,
             kl_weight: float = 1.0) -> Tensor:
        """Symmetric conditional ELBO per image ``(B,)`` of two views ``(B, 3, S, S)`` (one sample per direction
        when ``generator`` is given, else the posterior means)."""
        h = self.encoder(torch.cat([x_a, x_b]))
        h_a, h_b = h.chunk(2)
        noise = [None, None] if generator is None else [torch.randn(h_a.shape, generator=generator) for _ in "ab"]
        forward = self.directed_elbo(h_a, h_b, noise[0], kl_weight)
        return 0.5 * (forward + self.directed_elbo(h_b, h_a, noise[1], kl_weight))

    @torch.no_grad()
    def nll(self, x: Tensor) -> Tensor:
        """Anomaly score per image ``(B,)``: the negative symmetric ELBO of the image and its horizontal flip."""
        return -self.elbo(x, x.flip(-1))
