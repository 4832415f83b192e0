"""Point estimates that need no inference, and the score every method is judged by."""
import torch


def prior_mean_estimate(data):
    """Baseline 1: guess the prior mean for every star. (n,) float64."""
    return torch.full((data.n,), float(data.prior.mean), dtype=torch.float64, device=data.images.device)


def sky_subtracted_flux(data):
    """Baseline 2: total counts minus the expected background, sum_p (x_ip - b). (n,) float64.

    Unbiased, since E[x_ip] = b + f psf_p and the PSF sums to one.
    """
    return (data.images.to(torch.float64) - data.background).sum((1, 2))


def flux_rmse(true_fluxes, estimate):
    """Root mean squared error sqrt(mean_i (f_i - fhat_i)^2), as a Python float."""
    true_fluxes = torch.as_tensor(true_fluxes, dtype=torch.float64)
    estimate = torch.as_tensor(estimate, dtype=torch.float64, device=true_fluxes.device)
    if estimate.shape not in (true_fluxes.shape, torch.Size([])):
        raise ValueError(
            f"estimate must be a scalar or have the shape of true_fluxes {tuple(true_fluxes.shape)}, "
            f"got {tuple(estimate.shape)}"
        )
    return float((true_fluxes - estimate.detach()).square().mean().sqrt())
