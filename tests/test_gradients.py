"""Score-function and reparameterisation gradient estimators, against autograd through torch.distributions."""
import math

import pytest
import torch
from torch.distributions import Normal, Poisson

import course
from course.evidence import elbo
from course.gradients import gradient_draws, reparam_gradient, score_function_gradient
from course.likelihood import StarLikelihood


def log_joint(data, f):
    """log p(x_i, f_i) through torch.distributions, for f of shape (n,)."""
    rate = data.background + f.unsqueeze(-1) * data.psf.double().reshape(-1)  # (n, P)
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    return Poisson(rate).log_prob(data.images.double().reshape(data.n, -1)).sum(-1) + prior.log_prob(f)


def autograd_estimate(data, q_mean, q_sd, eps, estimator, entropy, baseline=0.0):
    """One draw per image, each estimator written as the surrogate loss whose autograd gradient it is."""
    m, s = q_mean.clone().requires_grad_(), q_sd.clone().requires_grad_()
    if estimator == "reparam":
        f = m + s * eps
        if entropy == "analytic":
            surrogate = log_joint(data, f) + Normal(m, s).entropy()
        else:  # the path derivative: log q differentiated through f only
            surrogate = log_joint(data, f) - Normal(m.detach(), s.detach()).log_prob(f)
    else:
        f = (m + s * eps).detach()
        q = Normal(m, s)
        weight = log_joint(data, f) - (q.log_prob(f).detach() if entropy == "sampled" else 0) - baseline
        surrogate = weight * q.log_prob(f) + (q.entropy() if entropy == "analytic" else 0)
    surrogate.sum().backward()
    return m.grad, s.grad


@pytest.mark.parametrize("estimator", ["reparam", "score"])
@pytest.mark.parametrize("entropy", ["sampled", "analytic"])
def test_each_estimator_matches_autograd_draw_by_draw(data, estimator, entropy):
    gen = torch.Generator().manual_seed(6)
    q_mean = data.true_fluxes.double() + 1000 * torch.randn(data.n, generator=gen, dtype=torch.float64)
    q_sd = 200 + 2000 * torch.rand(data.n, generator=gen, dtype=torch.float64)
    eps = torch.randn(data.n, 3, generator=gen, dtype=torch.float64)
    lik = StarLikelihood(data.images, data.psf, data.background)
    baseline = -1400.0 if estimator == "score" else 0.0
    if estimator == "score":
        ours = score_function_gradient(eps, q_mean, q_sd, data.prior, lik, entropy, baseline)
    else:
        ours = reparam_gradient(eps, q_mean, q_sd, data.prior, lik, entropy)
    for r in range(3):
        want = autograd_estimate(data, q_mean, q_sd, eps[:, r], estimator, entropy, baseline)
        for got, ref in zip(ours, want):
            torch.testing.assert_close(got[:, r], ref, rtol=1e-7, atol=1e-10)


def test_all_estimators_have_the_same_mean_the_elbos_slope(data):
    """The mean over many draws matches a central difference of the noise-free ELBO, within 4 standard errors."""
    q_mean = course.sky_subtracted_flux(data)[:4] + 2000
    q_sd = torch.full((4,), 800.0, dtype=torch.float64)
    small = course.StarData(data.psf, data.prior, data.background, data.true_fluxes[:4], data.images[:4])
    h = 1.0
    slope_mean = (elbo(small, q_mean + h, q_sd) - elbo(small, q_mean - h, q_sd)) / (2 * h)
    slope_sd = (elbo(small, q_mean, q_sd + h) - elbo(small, q_mean, q_sd - h)) / (2 * h)
    baseline = elbo(small, q_mean, q_sd)  # a constant per image: the score estimator stays unbiased
    for estimator, entropy, draws in [("reparam", "analytic", 20_000), ("reparam", "sampled", 20_000),
                                      ("score", "sampled", 200_000), ("score", "analytic", 200_000)]:
        b = baseline if entropy == "sampled" else baseline - (q_sd.log() + 0.5 * math.log(2 * math.pi * math.e))
        d_mean, d_sd = gradient_draws(small, q_mean, q_sd, estimator, entropy, baseline=b, num_draws=draws, seed=1)
        for got, want in ((d_mean, slope_mean), (d_sd, slope_sd)):
            se = got.std(1) / math.sqrt(draws)
            assert ((got.mean(1) - want).abs() < 4 * se + 1e-9).all(), (estimator, entropy)


def test_the_score_function_is_far_noisier_and_the_analytic_entropy_helps_far_from_the_optimum(data):
    q_mean, q_sd = course.sky_subtracted_flux(data) + 5000, torch.full((data.n,), 100.0, dtype=torch.float64)
    var = {(e, h): gradient_draws(data, q_mean, q_sd, e, h, num_draws=2000)[0].var(1)
           for e in ("score", "reparam") for h in ("sampled", "analytic")}
    assert (var["score", "analytic"] > 1e6 * var["reparam", "analytic"]).all()
    assert (var["reparam", "sampled"] > 100 * var["reparam", "analytic"]).all()  # the path term eps / s of -log q


def test_same_seed_same_draws_and_bad_input(data):
    q_mean, q_sd = data.true_fluxes.double(), torch.full((data.n,), 1000.0, dtype=torch.float64)
    a = gradient_draws(data, q_mean, q_sd, num_draws=5, seed=3)
    b = gradient_draws(data, q_mean, q_sd, num_draws=5, seed=3)
    assert torch.equal(a[0], b[0]) and a[0].shape == (data.n, 5)
    with pytest.raises(ValueError, match="estimator must be one of"):
        gradient_draws(data, q_mean, q_sd, estimator="pathwise")
    with pytest.raises(ValueError, match="entropy must be one of"):
        gradient_draws(data, q_mean, q_sd, entropy="exact")
    with pytest.raises(ValueError, match="Normal prior"):
        gradient_draws(course.simulate(n=2, prior="pareto"), q_mean[:2], q_sd[:2])
    with pytest.raises(ValueError, match="q_sd > 0"):
        gradient_draws(data, q_mean, -q_sd)
