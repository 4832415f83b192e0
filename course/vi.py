"""Per-image variational inference: a Normal q(f_i) = N(q_mean_i, q_sd_i^2) for each image, fitted by SGD.

The objective is the negative evidence lower bound (Blei, Kucukelbir & McAuliffe 2017, eq. 13),

    -ELBO(q) = E_q[log q(f)] - E_q[log p(f)] - E_q[log p(x | f)],                              (3)

estimated with S draws per image through the reparameterisation f = q_mean + q_sd * eps,
eps ~ N(0, 1), so that the estimate is differentiable in q_mean and q_sd.
"""
from dataclasses import dataclass

import torch

from ._runtime import engine_state, make_generator, resolve_device
from .likelihood import StarLikelihood, normal_log_prob
from .metrics import flux_rmse, sky_subtracted_flux
from .training import History, check_options, optimise


def neg_elbo(q_mean, q_sd, eps, flux_prior, likelihood, rows=None):
    """The Monte Carlo estimate of (3), summed over images and samples as the lab sums it:

        sum_i sum_s [log q(f_is) - log p(f_is) - log p(x_i | f_is)],   f_is = q_mean_i + q_sd_i eps_is

    q_mean, q_sd: (m,) the variational parameters of m images
    eps:          (m, S) standard Normal draws
    flux_prior:   torch.distributions.Normal, p(f)
    likelihood:   a StarLikelihood; `rows` picks the m images out of it
    Returns a float64 scalar, differentiable in q_mean and q_sd.
    """
    q_mean, q_sd = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (m, 1)
    f = q_mean + q_sd * eps  # (m, S): the reparameterisation trick
    log_q = normal_log_prob(f, q_mean, q_sd)  # (m, S)
    log_prior = normal_log_prob(f, float(flux_prior.loc), float(flux_prior.scale))  # (m, S)
    log_lik = likelihood(f, rows)  # (m, S)
    return (log_q - log_prior - log_lik).sum()


def neg_elbo_grad(q_mean, q_sd, eps, flux_prior, likelihood, rows=None):
    """The gradient of neg_elbo in (q_mean, q_sd), written out: ((m,), (m,)) float64.

    With f = m + s eps, log q(f) = -eps^2/2 - log s - log sqrt(2 pi), so log q contributes 0 to the
    gradient in m and -1/s per sample in s. The prior and likelihood reach m and s only through f:

        g_is = d/df [-log p(f) - log p(x_i | f)] = (f - mu) / sigma^2 - (4),
        d/dm_i = sum_s g_is,        d/ds_i = sum_s g_is eps_is - S / s_i.                         (5)

    It needs no logarithms, which dominate the value's cost, so training computes the value only
    when it is logged. tests/test_vi.py checks (5) against autograd through torch.distributions.
    """
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (m, 1)
    f = torch.addcmul(m, s, eps)  # (m, S)
    g = (f - float(flux_prior.loc)) / float(flux_prior.scale) ** 2 - likelihood.flux_gradient(f, rows)  # (m, S)
    return g.sum(1), (g * eps).sum(1) - eps.shape[1] / s.squeeze(1)


@dataclass(frozen=True)
class VIResult:
    """q_mean, q_sd: (n,) float64, the fitted q of each image; history: the logged steps."""

    q_mean: torch.Tensor
    q_sd: torch.Tensor
    history: History

    @property
    def diverged(self):
        return self.history.diverged


def fit_vi(data, lr=100, iterations=3000, num_samples=64, seed=0, callback=None, progress=False,
           log_every=200, device=None):
    """Fit a Normal q to each image's flux posterior by minimising (3) with plain SGD, as the lab does.

    q_mean starts at the sky-subtracted flux + 5000 and q_sd at 100; q_sd is clamped at 1e-4 before
    use, so that q stays a proper distribution when a step pushes q_sd below zero. Each step draws
    `num_samples` fresh eps per image from a generator seeded with `seed`. A NaN or infinite
    objective (too large an lr) ends the fit early with `result.diverged` set; it does not raise.
    """
    lr, iterations, num_samples, log_every = check_options(lr, iterations, num_samples, log_every)
    device = resolve_device(device)
    data = data.to(device)
    rng = make_generator(seed, device)
    with engine_state(grad=False):
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        q_mean = sky_subtracted_flux(data) + 5000  # (n,)
        q_sd = torch.full((data.n,), 100.0, dtype=torch.float64, device=device)  # (n,)
        optimizer = torch.optim.SGD([q_mean, q_sd], lr=lr)

        def step(with_value):
            eps = torch.randn(num_samples, data.n, generator=rng, dtype=torch.float64, device=device).T  # (n, S)
            sd = q_sd.clamp(min=1e-4)  # (n,)
            value = neg_elbo(q_mean, sd, eps, data.prior, likelihood).item() / num_samples if with_value else None
            q_mean.grad, d_sd = neg_elbo_grad(q_mean, sd, eps, data.prior, likelihood)
            q_sd.grad = d_sd * (q_sd >= 1e-4)  # the clamp passes no gradient below its floor
            optimizer.step()
            return value

        history = optimise(step, iterations, log_every, rmse=lambda: flux_rmse(data.true_fluxes, q_mean),
                           callback=callback, progress=progress, desc="per-image VI")
    return VIResult(q_mean, q_sd.clamp(min=1e-4), history)
