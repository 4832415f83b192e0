"""Numerical integration: the posterior of each star's flux on a grid (Bayes' rule, evaluated pointwise).

    p(f_g | x_i) = p(x_i | f_g) p(f_g) / sum_h p(x_i | f_h) p(f_h),   f_g = 0.1 mu + g * bin_width

The normaliser is a Riemann sum over the grid (equal bins, so the bin width cancels). Grid points where
the prior is zero (below a Pareto prior's x_m) have log p(f_g) = -inf and get probability 0.
"""
from dataclasses import dataclass

import torch

from ._runtime import check_int, check_positive, engine_state
from .likelihood import StarLikelihood, flux_log_prior


@dataclass(frozen=True)
class GridPosterior:
    """grid: (G,) fluxes; log_joint and probs: (n, G); mean and sd: (n,) posterior moments. All float64."""

    grid: torch.Tensor
    log_joint: torch.Tensor
    probs: torch.Tensor
    mean: torch.Tensor
    sd: torch.Tensor


def flux_grid(data, bin_width=100, grid_size=5000):
    """The lab's grid: grid_size points, bin_width apart, from a tenth of the prior mean upwards. (G,) float64."""
    grid_size = check_int("grid_size", grid_size, 1)
    bin_width = check_positive("bin_width", bin_width)
    start = 0.1 * float(data.prior.mean)
    return start + bin_width * torch.arange(grid_size, dtype=torch.float64, device=data.images.device)


def grid_posterior(data, bin_width=100, grid_size=5000, likelihood=None):
    """The posterior of every image's flux on the lab's grid, by the equation in the module docstring.

    Float64 throughout: the log-likelihood of an image is ~1e3 in size, but it is the difference of sums
    ~1e7 in size that cancel, and in float32 their rounding moves the posterior mean by up to ~90 flux units. Pass a `StarLikelihood` of `data` to reuse its tables.
    """
    grid = flux_grid(data, bin_width, grid_size)  # (G,)
    with engine_state(grad=False):
        if likelihood is None:
            likelihood = StarLikelihood(data.images, data.psf, data.background)
        prior = flux_log_prior(grid, data.prior)  # (G,); -inf where the prior is zero (below a Pareto's x_m)
        log_joint = likelihood(grid) + prior  # (n, G)
        probs = log_joint.softmax(1)  # (n, G)
        mean = probs @ grid  # (n,)
        var = (probs * (grid - mean.unsqueeze(1)).square()).sum(1)  # (n,)
    return GridPosterior(grid, log_joint, probs, mean, var.sqrt())
