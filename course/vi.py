"""Per-image variational inference: a Normal q(f_i) = N(q_mean_i, q_sd_i^2) for each image, fitted by SGD.

The objective is the negative evidence lower bound (Blei, Kucukelbir & McAuliffe 2017, eq. 13),

    -ELBO(q) = E_q[log q(f)] - E_q[log p(f)] - E_q[log p(x | f)],                              (3)

estimated with S draws per image through the reparameterisation f = q_mean + q_sd * eps,
eps ~ N(0, 1), so that the estimate is differentiable in q_mean and q_sd.

Under the Pareto prior (simulate(prior="pareto")) p(f) = 0 below x_m, and a Normal q, which puts mass
there, has KL[q || p(f | x)] = +inf: every draw below x_m makes log p(f) = -inf in (3). Following ADVI
(Kucukelbir, Tran, Ranganath, Gelman & Blei 2017, JMLR 18(14), sec. 2.3), q is then Normal on the
unconstrained variable z = log(f - x_m), i.e. f = x_m + exp(z) is a *shifted LogNormal* with the prior's
support, and by the change of variables

    log q(f) = log N(z; q_mean, q_sd^2) - z,         z = log(f - x_m),   f = x_m + exp(z)        (6)

(the Jacobian df/dz = exp(z)); the same draws z = q_mean + q_sd * eps keep (3) differentiable. With the
Pareto prior, q_mean and q_sd below are therefore the mean and SD of z, not of f (`shift` = x_m says so).
"""
import math
from dataclasses import dataclass

import torch
from torch.distributions import AffineTransform, ExpTransform, Normal, Pareto, TransformedDistribution

from ._runtime import engine_state, make_generator, resolve_device
from .likelihood import StarLikelihood, flux_log_prior, flux_prior_score, normal_log_prob
from .metrics import flux_rmse, sky_subtracted_flux
from .training import History, check_options, optimise

SCORING_STREAM = 2**32  # seed + this seeds the draws a fit scores its logged objective with


def support_shift(flux_prior):
    """None for a Normal prior (q is Normal in f); x_m for a Pareto prior (q is the shifted LogNormal of (6))."""
    if isinstance(flux_prior, Pareto):
        return float(flux_prior.scale)
    if isinstance(flux_prior, Normal):
        return None
    raise ValueError(f"flux_prior must be a torch.distributions.Normal or Pareto, got {type(flux_prior).__name__}")


Q_SD_FLOOR = 1e-4  # the lab's clamp on a Normal q's SD, applied before q is built


def q_distribution(q_mean, q_sd, shift=None):
    """q as a torch distribution over f: Normal(q_mean, q_sd) or, with a shift, the shifted LogNormal of (6),
    built from torch transforms (f = shift + exp(z), z ~ Normal(q_mean, q_sd)). For plots and checks."""
    z = Normal(q_mean, q_sd)
    if shift is None:
        return z
    return TransformedDistribution(z, [ExpTransform(), AffineTransform(shift, 1.0)])


def flux_moments(q_mean, q_sd, shift=None):
    """The mean and SD of f under q: (q_mean, q_sd) for a Normal q; for the shifted LogNormal of (6),

        E_q[f] = shift + exp(q_mean + q_sd^2 / 2),   SD_q[f] = exp(q_mean + q_sd^2 / 2) sqrt(exp(q_sd^2) - 1).
    """
    if shift is None:
        return q_mean, q_sd
    scale = (q_mean + q_sd.square() / 2).exp()
    return shift + scale, scale * torch.expm1(q_sd.square()).sqrt()


def shifted_lognormal_parameters(q_mean, q_sd, shift):
    """(q_loc, q_scale), the mean and SD of z = log(f - shift), of the shifted LogNormal whose f has mean
    q_mean and SD q_sd: the inverse of flux_moments,

        q_scale^2 = log(1 + q_sd^2 / (q_mean - shift)^2),     q_loc = log(q_mean - shift) - q_scale^2 / 2.

    For an encoder, which speaks in fluxes and may put q_mean below the edge while it learns, the gap
    q_mean - shift is first passed through a softplus of width shift / 1000 (43 flux units for the lab's
    stars; equal to the gap to 1e-6 once it exceeds 14 widths), and everything is computed in logs, so that
    no gap, however negative, gives -inf or a vanishing gradient (log softplus(x) -> x as x -> -inf).
    """
    width = shift / 1000
    x = (q_mean - shift) / width
    log_gap = torch.where(x > -30, torch.nn.functional.softplus(x.clamp(min=-30)).log(), x) + math.log(width)
    q_scale_sq = torch.nn.functional.softplus(2 * (q_sd.log() - log_gap))  # log(1 + q_sd^2 / gap^2), in logs
    return log_gap - q_scale_sq / 2, q_scale_sq.sqrt()


def neg_elbo(q_mean, q_sd, eps, flux_prior, likelihood, rows=None, shift=None):
    """The Monte Carlo estimate of (3) from the draws `eps`, summed over images and draws as the lab sums it,
    with fluxes f = q_mean + q_sd eps; or, with `shift` (the Pareto prior's x_m), f = shift + exp(z),
    z = q_mean + q_sd eps, and log q by (6).

    q_mean, q_sd: (m,) the variational parameters of m images (of f, or of z with a shift)
    eps:          (m, S) standard Normal draws
    flux_prior:   torch.distributions.Normal or Pareto, p(f)
    likelihood:   a StarLikelihood; `rows` picks the m images out of it
    Returns a float64 scalar, differentiable in q_mean and q_sd.
    """
    q_mean, q_sd = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (m, 1)
    if shift is None:
        f = q_mean + q_sd * eps  # (m, S): the reparameterisation trick
        log_q = normal_log_prob(f, q_mean, q_sd)  # (m, S)
    else:
        z = q_mean + q_sd * eps  # (m, S)
        f = shift + z.exp()  # (m, S): above x_m, where the Pareto prior lives
        log_q = normal_log_prob(z, q_mean, q_sd) - z  # (m, S): (6)
    log_prior = flux_log_prior(f, flux_prior)  # (m, S)
    log_lik = likelihood(f, rows)  # (m, S)
    return (log_q - log_prior - log_lik).sum()


def neg_elbo_grad(q_mean, q_sd, eps, flux_prior, likelihood, rows=None, shift=None):
    """The gradient of neg_elbo in (q_mean, q_sd), written out: ((m,), (m,)) float64.

    With f = m + s eps, log q(f) = -eps^2/2 - log s - log sqrt(2 pi), so log q contributes 0 to the
    gradient in m and -1/s per sample in s. The prior and likelihood reach m and s only through f:

        g_is = d/df [-log p(f) - log p(x_i | f)] = (f - mu) / sigma^2 - (4),
        d/dm_i = sum_s g_is,        d/ds_i = sum_s g_is eps_is - S / s_i.                         (5)

    With a shift, f = shift + exp(z), z = m + s eps, df/dz = exp(z) = f - shift, and the -z of (6) adds
    -1 (in m) and -eps (in s) per sample: (5) holds with g_is replaced by h_is = g_is (f_is - shift) - 1.
    It needs no logarithms, which dominate the value's cost, so training computes the value only
    when it is logged. tests/test_vi.py checks (5) against autograd through torch.distributions.
    """
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (m, 1)
    if shift is None:
        f = torch.addcmul(m, s, eps)  # (m, S)
        g = -flux_prior_score(f, flux_prior) - likelihood.flux_gradient(f, rows)  # (m, S)
    else:
        step = torch.addcmul(m, s, eps).exp()  # (m, S): exp(z) = f - shift = df/dz
        f = shift + step
        g = (-flux_prior_score(f, flux_prior) - likelihood.flux_gradient(f, rows)) * step - 1  # (m, S): h_is
    return g.sum(1), (g * eps).sum(1) - eps.shape[1] / s.squeeze(1)


@dataclass(frozen=True)
class VIResult:
    """The fitted q of each image, and the logged steps.

    q_mean, q_sd:  (n,) float64, the mean and SD of the flux f under q (for a Normal q, its parameters)
    history:       the logged steps
    q_loc, q_scale, shift: for the shifted LogNormal q of (6) (Pareto prior), its parameters, the (n,) mean
                   and SD of z = log(f - shift), and shift = x_m; None for a Normal q
    """

    q_mean: torch.Tensor
    q_sd: torch.Tensor
    history: History
    q_loc: torch.Tensor = None
    q_scale: torch.Tensor = None
    shift: float = None

    @property
    def diverged(self):
        return self.history.diverged


def scoring_draws(n, num_samples, seed, device=None):
    """(n, num_samples) standard Normal draws for the objective a fit logs, the same at every logged step
    (common random numbers: two logged values then differ only because q changed, not by Monte Carlo
    noise). Drawn from a stream of their own, so the draws that training uses are those it used without them."""
    rng = make_generator(seed + SCORING_STREAM, device)
    return torch.randn(num_samples, n, generator=rng, dtype=torch.float64, device=device).T


def fit_vi(data, lr=None, iterations=3000, num_samples=64, seed=0, callback=None, progress=False,
           log_every=200, device=None):
    """Fit q to each image's flux posterior by minimising (3): a Normal q by plain SGD, as the lab does;
    under a Pareto prior, the shifted LogNormal q of (6) by Adam.

    Normal q (Normal prior): lr defaults to the lab's 100; q_mean starts at the sky-subtracted flux + 5000
    and q_sd at 100; q_sd is clamped at 1e-4 before use, as the lab's code does.
    Shifted LogNormal q (Pareto prior): lr defaults to 0.05. Adam, because the curvature of (3) in the
    mean of z = log(f - x_m) grows as (f - x_m)^2, which differs by a factor of 10^3-10^4 between a star
    near the edge and a bright one, so no single SGD step size suits every image; Adam scales each
    parameter's step by its own gradient size. It steps in (q_loc, log q_scale), so the scale stays
    positive without a clamp. q_loc starts at log(max(sky-subtracted flux - x_m, sqrt(P b))) (sqrt(P b), the
    sky-subtracted flux's noise SD, for stars that look fainter than the edge) and q_scale at 0.5.

    Each step draws `num_samples` fresh eps per image from a generator seeded with `seed`; the logged
    objective is (3) per draw, with `num_samples` draws per image fixed for the whole fit (scoring_draws).
    A NaN or infinite objective (too large an lr) ends the fit early with `result.diverged` set, at the
    step where it happened; it does not raise.
    """
    device = resolve_device(device)
    data = data.to(device)
    shift = support_shift(data.prior)
    lr = (100 if shift is None else 0.05) if lr is None else lr
    lr, iterations, num_samples, log_every = check_options(lr, iterations, num_samples, log_every)
    rng = make_generator(seed, device)
    with engine_state(grad=False):
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        if shift is None:
            q_mean = sky_subtracted_flux(data) + 5000  # (n,)
            q_sd = torch.full((data.n,), 100.0, dtype=torch.float64, device=device)  # (n,)
            optimizer = torch.optim.SGD([q_mean, q_sd], lr=lr)
        else:
            noise_sd = math.sqrt(data.psf.numel() * data.background)
            q_mean = (sky_subtracted_flux(data) - shift).clamp(min=noise_sd).log()  # (n,): the mean of z
            q_sd = torch.full((data.n,), math.log(0.5), dtype=torch.float64, device=device)  # (n,): log q_scale
            optimizer = torch.optim.Adam([q_mean, q_sd], lr=lr)
            # the step size falls linearly to 1% of lr: early steps travel, late ones average the Monte Carlo noise
            schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.01, total_iters=iterations)

        def scale():
            return q_sd.clamp(min=Q_SD_FLOOR) if shift is None else q_sd.exp()  # (n,)

        def step():
            sd = scale()
            if not torch.isfinite(q_mean + sd).all():
                return False  # the last step overshot: nothing left to update
            eps = torch.randn(num_samples, data.n, generator=rng, dtype=torch.float64, device=device).T  # (n, S)
            q_mean.grad, d_sd = neg_elbo_grad(q_mean, sd, eps, data.prior, likelihood, shift=shift)
            if shift is None:
                q_sd.grad = d_sd * (q_sd >= Q_SD_FLOOR)  # the clamp passes no gradient below its floor
            else:
                q_sd.grad = d_sd * sd  # chain rule to log q_scale
            optimizer.step()
            if shift is not None:
                schedule.step()
            return True

        score_eps = scoring_draws(data.n, num_samples, seed, device)  # (n, S), the same at every logged step

        def score():
            sd = scale()
            objective = neg_elbo(q_mean, sd, score_eps, data.prior, likelihood, shift=shift).item() / num_samples
            return objective, flux_rmse(data.true_fluxes, flux_moments(q_mean, sd, shift)[0])

        history = optimise(step, score, iterations, log_every, callback=callback, progress=progress,
                           desc="per-image VI")
        if shift is None:
            return VIResult(q_mean, scale(), history)
        mean, sd = flux_moments(q_mean, scale(), shift)
        return VIResult(mean, sd, history, q_loc=q_mean, q_scale=scale(), shift=shift)
