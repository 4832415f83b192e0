"""Two overlapping stars: the lab's model with two stars in each image, and their joint posterior on a 2-D grid.

    flux_ik            ~ Normal(mu, (0.2 mu)^2),                    k = 1, 2     (the lab's prior, independent)
    rate_ip            = background + flux_i1 psf1_p + flux_i2 psf2_p
    image_ip | flux_i  ~ Poisson(rate_ip)

The stars sit on the centre row, `separation` pixels apart, symmetric about the centre column; their
positions are known. Each PSF is the lab's, moved along the row: its column marginal is the lab's triangle
c - |j - j_k| (clipped at 0) centred on the star's column j_k, which may fall between pixels, and each PSF
sums to 1. Two stars closer than the PSF's width share their light, and the image fixes the sum of their
fluxes much better than their difference: the posterior of (flux_1, flux_2) is correlated, negatively.

The posterior has no closed form, but in two dimensions a grid still gives it: the grid here is laid out in
the coordinates of the Laplace approximation (f = mode + L z, L L^T the inverse Hessian at the mode, z on a
square grid), so that its points follow the posterior's thin, tilted ellipse, whatever the separation.
"""
import math
from dataclasses import dataclass

import torch
from torch.distributions import Normal

from ._runtime import check_int, check_positive, engine_state, make_generator
from .model import check_images, draw_counts, make_psf


def shifted_psf(img_dim, column_offset):
    """The lab's PSF with its centre moved `column_offset` pixels along the row (any real number), summed
    to 1. column_offset = 0 gives `make_psf(img_dim)`. Returns (img_dim, img_dim) float32."""
    centred = make_psf(img_dim)  # checks img_dim
    half = img_dim // 2
    columns = torch.arange(img_dim, dtype=torch.float64) - half - column_offset  # (img_dim,)
    marginal = (half + 1 - columns.abs()).clamp(min=0)  # (img_dim,): the lab's triangle, moved
    rows = centred.sum(1).to(torch.float64)  # (img_dim,): the row marginal, unchanged
    psf = torch.outer(rows, marginal)  # (img_dim, img_dim)
    return (psf / psf.sum()).to(torch.float32)


def two_star_psfs(img_dim, separation):
    """The two stars' PSFs, `separation` pixels apart on the centre row: (2, img_dim, img_dim) float32."""
    separation = check_positive("separation", separation)
    if separation >= img_dim // 2:
        raise ValueError(f"separation must be < {img_dim // 2} pixels so both stars lie inside a {img_dim}-pixel "
                         f"image, got {separation!r}")
    return torch.stack([shifted_psf(img_dim, -separation / 2), shifted_psf(img_dim, separation / 2)])


@dataclass(frozen=True)
class TwoStarData:
    """Images of two stars each, with the model that made them.

    psfs:        (2, img_dim, img_dim) the two stars' PSFs, each summing to 1
    prior:       Normal(mu, 0.2 mu), the lab's flux prior, for each flux independently
    background:  expected counts per pixel from the sky
    separation:  pixels between the two stars
    true_fluxes: (n, 2) the fluxes the images were drawn with
    images:      (n, img_dim, img_dim) photon counts
    """

    psfs: torch.Tensor
    prior: Normal
    background: float
    separation: float
    true_fluxes: torch.Tensor
    images: torch.Tensor

    def __post_init__(self):
        check_images(self.images, self.psfs[0])
        if self.true_fluxes.shape != (self.n, 2):
            raise ValueError(f"true_fluxes must have shape (n, 2) = ({self.n}, 2), got {tuple(self.true_fluxes.shape)}")

    @property
    def n(self):
        return self.images.shape[0]


def simulate_two_stars(n=16, separation=2.0, img_dim=15, seed=0):
    """Draw `n` images of two stars `separation` pixels apart from the model in the module docstring.

    mu and the background are the lab's (mu = 1000 / max psf of one centred star; background 0.3 mu). The
    draws come from a private generator seeded with `seed`: the 2n fluxes first, then every pixel's count.
    """
    n = check_int("n", n, 1)
    psfs = two_star_psfs(img_dim, separation)  # (2, img_dim, img_dim)
    rng = make_generator(seed, "cpu")
    mu = 1000 / make_psf(img_dim).max()
    prior = Normal(mu, 0.2 * mu)
    true_fluxes = torch.normal(prior.loc.expand(n, 2), prior.scale.expand(n, 2), generator=rng)  # (n, 2)
    light = torch.einsum("nk,kij->nij", true_fluxes.clamp(min=0), psfs)  # (n, img_dim, img_dim)
    images = draw_counts(torch.ones(n), light, 0.3 * float(mu), rng)  # rate = b + light, per image
    return TwoStarData(psfs, prior, 0.3 * float(mu), float(separation), true_fluxes, images)


class TwoStarLogJoint:
    """log p(x_i, f) = log p(x_i | f_1, f_2) + log p(f_1) + log p(f_2) for a fixed stack of images, float64.

    As in `StarLikelihood`, pixels that share a pair of PSF values (psf1_p, psf2_p) enter the sum
    sum_p x_ip log(rate_ip) only through their total count, so each evaluation takes one logarithm per
    distinct pair (about 120 for the lab's 15 x 15 PSF) instead of one per pixel. Constant terms are kept
    (P b and log x_ip!), so that values are the true log joint density and exp(log joint) integrates to p(x).
    """

    def __init__(self, data):
        psfs = data.psfs.to(torch.float64).reshape(2, -1)  # (2, P)
        self.psf_pairs, which = torch.unique(psfs.T, dim=0, return_inverse=True)  # (K, 2), (P,)
        pixels = data.images.to(torch.float64).reshape(data.n, -1)  # (n, P)
        self.counts = torch.zeros(data.n, len(self.psf_pairs), dtype=torch.float64).index_add_(1, which, pixels)
        self.background = data.background
        self.psf_totals = psfs.sum(1)  # (2,)
        self.constant = pixels.shape[1] * data.background + torch.lgamma(pixels + 1).sum(1)  # (n,)
        self.prior = Normal(data.prior.loc.to(torch.float64), data.prior.scale.to(torch.float64))

    def __call__(self, flux):
        """flux: (n, S, 2), S pairs of fluxes for each image -> (n, S) log joint densities.

        Negative fluxes give no light (as in the lab's likelihood), but the prior still scores them.
        """
        flux = flux.to(torch.float64)
        light = flux.clamp(min=0)  # (n, S, 2)
        rates = self.background + light @ self.psf_pairs.T  # (n, S, K)
        fit = (rates.log() * self.counts.unsqueeze(1)).sum(-1)  # (n, S)
        log_lik = fit - light @ self.psf_totals - self.constant.unsqueeze(1)  # (n, S)
        return log_lik + self.prior.log_prob(flux).sum(-1)

    def laplace(self, iterations=30):
        """The mode of each image's posterior and the inverse of minus the Hessian there (the Laplace
        approximation's covariance), by Newton's method from the prior mean: (n, 2) and (n, 2, 2)."""
        n = self.counts.shape[0]
        flux = self.prior.loc.expand(n, 2).clone()  # (n, 2)
        precision_prior = torch.eye(2, dtype=torch.float64) / self.prior.scale ** 2
        for _ in range(iterations):
            rates = self.background + flux.clamp(min=0) @ self.psf_pairs.T  # (n, K)
            ratio = self.counts / rates  # (n, K)
            grad = ratio @ self.psf_pairs - self.psf_totals - (flux - self.prior.loc) / self.prior.scale ** 2
            weights = self.counts / rates ** 2  # (n, K)
            hessian = -torch.einsum("nk,ka,kb->nab", weights, self.psf_pairs, self.psf_pairs) - precision_prior
            flux = flux - torch.linalg.solve(hessian, grad)
        return flux, torch.linalg.inv(-hessian)


@dataclass(frozen=True)
class GridPosterior2D:
    """The joint posterior of each image's two fluxes on a grid.

    points:       (n, G, G, 2) the grid's fluxes, f = mode + L z for z on a square grid
    log_joint:    (n, G, G) log p(x_i, f) at each point
    probs:        (n, G, G) posterior probability of each point's cell, summing to 1
    mean, cov:    (n, 2) and (n, 2, 2) posterior moments
    log_evidence: (n,) log p(x_i), the integral of the joint over the grid's cells
    """

    points: torch.Tensor
    log_joint: torch.Tensor
    probs: torch.Tensor
    mean: torch.Tensor
    cov: torch.Tensor
    log_evidence: torch.Tensor

    @property
    def sd(self):
        """(n, 2) the marginal posterior SD of each flux."""
        return self.cov.diagonal(dim1=-2, dim2=-1).sqrt()

    @property
    def corr(self):
        """(n,) the posterior correlation of the two fluxes."""
        return self.cov[:, 0, 1] / self.sd.prod(-1)


def grid_posterior_2d(data, grid_size=201, half_width=8.0):
    """Each image's joint posterior of (flux_1, flux_2) by Bayes' rule on a grid of grid_size^2 points.

    The grid spans half_width Laplace SDs each way along the Laplace approximation's axes; every cell has the
    same area |det L| dz^2, so probs = softmax(log_joint) and log p(x_i) = logsumexp(log_joint) + log(area).
    Float64 throughout.
    """
    grid_size = check_int("grid_size", grid_size, 3)
    half_width = check_positive("half_width", half_width)
    with engine_state(grad=False):
        log_joint_fn = TwoStarLogJoint(data)
        mode, cov = log_joint_fn.laplace()  # (n, 2), (n, 2, 2)
        tril = torch.linalg.cholesky(cov)  # (n, 2, 2)
        z = torch.linspace(-half_width, half_width, grid_size, dtype=torch.float64)  # (G,)
        z_points = torch.stack(torch.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)  # (G*G, 2)
        points = mode.unsqueeze(1) + z_points @ tril.transpose(1, 2)  # (n, G*G, 2)
        log_joint = log_joint_fn(points)  # (n, G*G)
        log_area = tril.diagonal(dim1=1, dim2=2).log().sum(-1) + 2 * math.log(z[1] - z[0])  # (n,)
        probs = log_joint.softmax(1)  # (n, G*G)
        mean = torch.einsum("ns,nsa->na", probs, points)  # (n, 2)
        centred = points - mean.unsqueeze(1)  # (n, G*G, 2)
        cov = torch.einsum("ns,nsa,nsb->nab", probs, centred, centred)  # (n, 2, 2)
        log_evidence = log_joint.logsumexp(1) + log_area  # (n,)
    shape = (data.n, grid_size, grid_size)
    return GridPosterior2D(points.reshape(*shape, 2), log_joint.reshape(shape), probs.reshape(shape), mean, cov,
                           log_evidence)
