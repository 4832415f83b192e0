"""log p(images | flux): the Poisson likelihood of star images, in float64.

For image i with counts x_ip and rate b + f psf_p (Poisson, independent pixels given f),

    log p(x_i | f) = sum_p x_ip log(b + f psf_p)  -  P b  -  f sum_p psf_p  -  sum_p log x_ip!     (1)

Only the first term needs the pixels, and it needs them only through the total count on each
distinct PSF value: with v_k the K distinct values of the PSF and c_ik = sum_{p: psf_p = v_k} x_ip,

    sum_p x_ip log(b + f psf_p) = sum_k c_ik log(b + f v_k).                                      (2)

The lab's PSF has K = 30 distinct values among its 225 pixels (an outer product of the marginal
1, 2, ..., 8, ..., 2, 1 repeats products such as 1*4 = 2*2), so (2) takes 30 logarithms per flux
instead of 225, and over a grid of fluxes it is one matrix product (n x K) @ (K x grid).
"""
import copy
import functools
import math

import torch
from torch.distributions import Normal, Pareto

from .model import check_images


class StarLikelihood:
    """Equation (1) for a fixed stack of images, precomputing everything that does not depend on f."""

    def __init__(self, images, psf, background):
        check_images(images, psf)
        psf = psf.to(device=images.device, dtype=torch.float64).reshape(-1)  # (P,)
        self.psf_values, self.which = torch.unique(psf, return_inverse=True)  # (K,), (P,)
        self.background = float(background)
        self.psf_total = float(psf.sum())
        self._set_images(images)

    def with_images(self, images):
        """The same likelihood for other (m, img_dim, img_dim) images, reusing the PSF's tables.

        The images are not checked: this is for images the model itself has just drawn (fresh images
        at every step of amortized training), where checking and tabulating the PSF again would cost
        more than the step's gradient.
        """
        other = copy.copy(self)
        other._set_images(images)
        return other

    def _set_images(self, images):
        n = images.shape[0]
        self._pixels = images.to(torch.float64).reshape(n, -1)  # (n, P)
        self.counts = torch.zeros(n, len(self.psf_values), dtype=torch.float64, device=images.device)  # (n, K)
        self.counts.index_add_(1, self.which, self._pixels)
        self.weighted_counts = self.counts * self.psf_values  # (n, K): c_ik v_k, the numerators of (4)
        self.__dict__.pop("constant", None)

    @functools.cached_property
    def constant(self):
        """P b + sum_p log x_ip!, (n,): constant in f, kept so that values match Poisson.log_prob.

        Computed on first use: the gradient (4) does not need it, and its lgamma of every pixel is
        the costliest part of tabulating new images.
        """
        return self._pixels.shape[1] * self.background + torch.lgamma(self._pixels + 1).sum(1)

    def rates(self, flux):
        """b + f v_k for each distinct PSF value: (..., S) fluxes -> (..., K, S)."""
        return self.background + self.psf_values.unsqueeze(-1) * flux.unsqueeze(-2)

    def __call__(self, flux, rows=None):
        """log p(x_i | flux_is) by (1)-(2).

        flux: (S,) fluxes shared by every image (a grid), or (m, S) one row of fluxes per image.
        rows: which images the rows of `flux` belong to (an index tensor of length m); all by default.
        Returns (m, S) float64. Negative fluxes are unphysical and count as zero flux, which is
        what the lab's amortized loop does with `clamp(0)` on the star's rate.
        """
        counts, constant = (self.counts, self.constant) if rows is None else (self.counts[rows], self.constant[rows])
        flux = flux.to(torch.float64).clamp(min=0)
        if flux.dim() == 1:
            fit = counts @ self.rates(flux).log()  # (m, K) @ (K, S) -> (m, S)
        else:
            fit = (counts.unsqueeze(1) @ self.rates(flux).log()).squeeze(1)  # (m, 1, K) @ (m, K, S) -> (m, S)
        return fit - self.psf_total * flux - constant.unsqueeze(-1)

    def flux_gradient(self, flux, rows=None):
        """d/df log p(x_i | f) at (m, S) fluxes, the derivative of (1)-(2):

            sum_k c_ik v_k / (b + f v_k)  -  sum_p psf_p,    and 0 where f < 0 (the clamp).         (4)
        """
        weighted = self.weighted_counts if rows is None else self.weighted_counts[rows]  # (m, K)
        inv_rates = self.rates(flux.clamp(min=0)).reciprocal()  # (m, K, S)
        slope = (weighted.unsqueeze(1) @ inv_rates).squeeze(1) - self.psf_total  # (m, S)
        return slope * (flux >= 0)


HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def normal_log_prob(x, mean, sd):
    """log N(x; mean, sd^2), elementwise, without building a Distribution (and checking its arguments) each step."""
    sd = torch.as_tensor(sd, dtype=x.dtype, device=x.device)
    z = (x - mean) / sd
    return -0.5 * z * z - sd.log() - HALF_LOG_2PI


def pareto_log_prob(x, scale, alpha):
    """log Pareto(x; x_m, alpha), elementwise: log alpha + alpha log x_m - (alpha + 1) log x for x >= x_m,
    and -inf below x_m, where the density is zero.

    torch's Pareto.log_prob raises outside the support (or, unvalidated, returns a finite wrong value);
    a grid of fluxes and a Normal q both reach below x_m, where the answer must be -inf.
    """
    inside = x >= scale
    safe = torch.where(inside, x, torch.as_tensor(scale, dtype=x.dtype, device=x.device))  # no log of x <= 0
    log_density = math.log(alpha) + alpha * math.log(scale) - (alpha + 1) * safe.log()
    return torch.where(inside, log_density, -math.inf)


def flux_log_prior(flux, prior):
    """log p(f) of the flux prior `prior` (torch Normal or Pareto), elementwise, in the dtype of `flux`."""
    if isinstance(prior, Pareto):
        return pareto_log_prob(flux, float(prior.scale), float(prior.alpha))
    if isinstance(prior, Normal):
        return normal_log_prob(flux, float(prior.loc), float(prior.scale))
    raise ValueError(f"prior must be a torch.distributions.Normal or Pareto, got {type(prior).__name__}")


def flux_prior_score(flux, prior):
    """d/df log p(f), elementwise: -(f - mu) / sigma^2 (Normal) or -(alpha + 1) / f (Pareto, f > x_m).

    Below a Pareto's x_m the log-density is -inf and has no slope; it returns 0 there (the callers keep
    their fluxes above x_m).
    """
    if isinstance(prior, Pareto):
        return torch.where(flux >= float(prior.scale), -(float(prior.alpha) + 1) / flux, 0.0)
    if isinstance(prior, Normal):
        return -((flux - float(prior.loc)) / float(prior.scale) ** 2)
    raise ValueError(f"prior must be a torch.distributions.Normal or Pareto, got {type(prior).__name__}")
