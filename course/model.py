"""The generative model of the lab: a PSF, a flux prior, a flat background, Poisson counts.

    flux_i            ~ Normal(mu, (0.2 mu)^2),           mu = 1000 / max_p psf_p     (the lab's prior)
                   or ~ Pareto(x_m = 2 mu / 3, alpha = 3)                             (prior="pareto")
    rate_ip           = background + flux_i * psf_p,      background = 0.3 mu
    image_ip | flux_i ~ Poisson(rate_ip)                  for every pixel p of image i
"""
from dataclasses import dataclass

import torch
from torch.distributions import Normal, Pareto

from ._runtime import check_int, make_generator, resolve_device

PRIORS = ("normal", "pareto")
# Pareto prior: x_m = PARETO_SCALE * mu and alpha = PARETO_ALPHA (see flux_prior for why)
PARETO_ALPHA = 3.0
PARETO_SCALE = (PARETO_ALPHA - 1) / PARETO_ALPHA


def make_psf(img_dim=15):
    """The lab's point spread function: the outer product of a triangular marginal, summed to 1.

    The marginal is 1, 2, ..., c, ..., 2, 1 with its peak c = (img_dim + 1) / 2 in the centre.
    Returns a float32 tensor of shape (img_dim, img_dim).
    """
    img_dim = check_int("img_dim", img_dim, 3)
    if img_dim % 2 == 0:
        raise ValueError(f"img_dim must be an odd integer >= 3 (the star sits on the centre pixel), got {img_dim}")
    half = img_dim // 2
    marginal = (half + 1 - (torch.arange(img_dim) - half).abs()).to(torch.float32)  # (img_dim,)
    psf = torch.outer(marginal, marginal)  # (img_dim, img_dim)
    return psf / psf.sum()


@dataclass(frozen=True)
class StarData:
    """A data set of star images with the model that made them.

    psf:         (img_dim, img_dim) image of a star of unit flux; sums to 1
    prior:       the flux prior p(flux): torch.distributions.Normal (the lab's) or Pareto
    background:  expected counts per pixel from the sky
    true_fluxes: (n,) the fluxes the images were drawn with
    images:      (n, img_dim, img_dim) photon counts
    """

    psf: torch.Tensor
    prior: Normal
    background: float
    true_fluxes: torch.Tensor
    images: torch.Tensor

    def __post_init__(self):
        if type(self.prior) not in (Normal, Pareto):
            raise ValueError(f"prior must be a torch.distributions.Normal or Pareto, got {type(self.prior).__name__}")
        check_images(self.images, self.psf)
        if self.true_fluxes.shape != self.images.shape[:1]:
            raise ValueError(
                f"true_fluxes must have shape (n,) = {tuple(self.images.shape[:1])}, got {tuple(self.true_fluxes.shape)}"
            )
        if not float(self.background) > 0:
            raise ValueError(f"background must be > 0, got {self.background!r}")

    @property
    def n(self):
        return self.images.shape[0]

    @property
    def img_dim(self):
        return self.psf.shape[0]

    def to(self, device):
        """The same data with every tensor on `device`."""
        device = resolve_device(device)
        if isinstance(self.prior, Pareto):
            prior = Pareto(self.prior.scale.to(device), self.prior.alpha.to(device))
        else:
            prior = Normal(self.prior.loc.to(device), self.prior.scale.to(device))
        return StarData(self.psf.to(device), prior, self.background, self.true_fluxes.to(device), self.images.to(device))


def check_images(images, psf):
    """Raise ValueError unless `images` is an (n, d, d) tensor of counts matching the (d, d) PSF."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor of photon counts, got {type(images).__name__}")
    if psf.dim() != 2 or psf.shape[0] != psf.shape[1]:
        raise ValueError(f"psf must be a square (img_dim, img_dim) tensor, got shape {tuple(psf.shape)}")
    if images.dim() != 3 or images.shape[1:] != psf.shape or images.shape[0] < 1:
        d = psf.shape[0]
        raise ValueError(f"images must have shape (n, {d}, {d}) with n >= 1 to match the PSF, got {tuple(images.shape)}")
    if images.is_floating_point() and not torch.isfinite(images).all():
        raise ValueError("images must be finite photon counts; found NaN or inf")
    if (images < 0).any():
        raise ValueError("images must be photon counts >= 0; found a negative value")
    if images.is_floating_point() and (images != images.round()).any():
        raise ValueError("images must be whole photon counts; found a non-integer value")


def flux_prior(prior, mean_star_flux):
    """The flux prior p(f) named `prior`, for the lab's mean star flux mu (a 0-dim float32 tensor).

    "normal": Normal(mu, (0.2 mu)^2), the lab's.
    "pareto": Pareto(x_m, alpha), density alpha x_m^alpha / f^(alpha + 1) for f >= x_m and 0 below, with
        alpha = 3 and x_m = (alpha - 1) / alpha * mu = 2 mu / 3. Why these: the mean, alpha x_m / (alpha - 1),
        is then mu, so an average star is as bright as the lab's; alpha > 2 keeps the variance finite
        (SD mu / sqrt(3), about 0.58 mu), so the posterior mean and SD exist and every method can be scored
        by them; and 99.9% of fluxes lie below 10 x_m, about 6.7 mu, inside the lab's grid (up to 7.9 mu).
        A power law with a hard lower edge is the shape of real source counts (Euclidean counts have
        alpha = 1.5).
    """
    if prior == "normal":
        return Normal(mean_star_flux, 0.2 * mean_star_flux)
    if prior == "pareto":
        return Pareto(PARETO_SCALE * mean_star_flux, torch.tensor(PARETO_ALPHA, dtype=mean_star_flux.dtype))
    raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")


def draw_counts(fluxes, psf, background, generator):
    """One image of Poisson counts per flux, from the module docstring's model: x_p ~ Poisson(b + f psf_p).

    fluxes: (m,); psf: (img_dim, img_dim); returns (m, img_dim, img_dim) in the dtype of fluxes * psf, drawn
    from `generator` pixel by pixel in order. A negative flux (a Normal prior allows one, 5 SDs below its
    mean) contributes no light, as in the likelihood.
    """
    rate = background + fluxes.clamp(min=0).view(-1, 1, 1) * psf  # (m, img_dim, img_dim)
    return torch.poisson(rate, generator=generator)


def simulate(n=16, img_dim=15, seed=0, device=None, prior="normal"):
    """Draw `n` star images from the model in the module docstring, with the flux prior `prior`.

    The draws use a private generator seeded with `seed`, in the lab's order (fluxes first,
    then every pixel's count), so seed 0 gives exactly the lab's `true_fluxes` and `images`;
    the global torch RNG is left untouched. Tensors are float32, as in the lab.
    Pareto fluxes are drawn by inverting the CDF: f = x_m u^(-1 / alpha), u ~ Uniform(0, 1].
    """
    n = check_int("n", n, 1)
    device = resolve_device(device)
    psf = make_psf(img_dim)  # (img_dim, img_dim)
    rng = make_generator(seed, "cpu")  # drawn on the CPU so every device sees the same data

    mean_star_flux = 1000 / psf.max()  # a star's brightest pixel expects 1000 counts on average
    p = flux_prior(prior, mean_star_flux)
    if prior == "normal":
        true_fluxes = torch.normal(p.loc.expand(n), p.scale.expand(n), generator=rng)  # (n,)
    else:
        u = 1 - torch.rand(n, generator=rng)  # (n,) in (0, 1]: never 0, so no infinite flux
        true_fluxes = p.scale * u.pow(-1 / p.alpha)  # (n,)
    background = 0.3 * mean_star_flux
    images = draw_counts(true_fluxes, psf, background, rng)  # (n, img_dim, img_dim)

    return StarData(psf, p, float(background), true_fluxes, images).to(device)
