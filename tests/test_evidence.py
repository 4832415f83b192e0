"""The evidence from the grid and the noise-free ELBO, against plain references and the facts (7)-(9)."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, Pareto, Poisson

import course
from course.evidence import elbo, gauss_hermite, log_evidence
from course.vi import q_distribution


def test_gauss_hermite_matches_numpy_and_integrates_polynomials():
    t, w = gauss_hermite(20)
    nodes, weights = np.polynomial.hermite.hermgauss(20)
    np.testing.assert_allclose(t.numpy(), nodes, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), weights, rtol=1e-10, atol=0)
    m, s = 3.0, 2.0  # E[f^4] of N(m, s^2) = m^4 + 6 m^2 s^2 + 3 s^4
    moment = float(((m + math.sqrt(2) * s * t) ** 4 @ w) / math.sqrt(math.pi))
    assert math.isclose(moment, m ** 4 + 6 * m * m * s * s + 3 * s ** 4, rel_tol=1e-12)


def plain_log_evidence(data, i, grid):
    """A loop over the grid in Python floats: log of the Riemann sum of p(x_i | f) p(f) times the bin width."""
    x, psf = data.images[i].double(), data.psf.double()
    terms = [float(Poisson(data.background + f * psf).log_prob(x).sum())
             + float(Normal(data.prior.loc.double(), data.prior.scale.double()).log_prob(torch.tensor(f, dtype=torch.float64)))
             for f in grid]
    top = max(terms)
    return top + math.log(sum(math.exp(a - top) for a in terms)) + math.log(grid[1] - grid[0])


def test_log_evidence_matches_a_plain_loop_and_an_independent_quadrature(data):
    post = course.grid_posterior(data, bin_width=200, grid_size=2500)
    ours = log_evidence(post)
    grid = post.grid.tolist()
    for i in (0, 7):
        assert math.isclose(float(ours[i]), plain_log_evidence(data, i, grid), rel_tol=0, abs_tol=1e-8)
    # Gauss-Hermite importance quadrature around the posterior's moments: log int p(x, f) / N(f; m, s) N(f; m, s) df
    t, w = gauss_hermite(64)
    f = post.mean.unsqueeze(1) + math.sqrt(2) * post.sd.unsqueeze(1) * t  # (n, J)
    lik = course.StarLikelihood(data.images, data.psf, data.background)
    log_ratio = lik(f) + course.flux_log_prior(f, data.prior) - Normal(post.mean.unsqueeze(1), post.sd.unsqueeze(1)).log_prob(f)
    independent = (log_ratio + (w / math.sqrt(math.pi)).log()).logsumexp(1)
    torch.testing.assert_close(ours, independent, rtol=0, atol=1e-6)


def monte_carlo_elbo(data, q, num_draws=100_000, seed=0):
    """The ELBO by many draws through torch.distributions: its mean and standard error per image."""
    f = q.sample((num_draws,))  # (R, n), drawn with the seeded global RNG below
    rate = data.background + f.unsqueeze(-1) * data.psf.double().reshape(-1)  # (R, n, P)
    log_lik = Poisson(rate).log_prob(data.images.double().reshape(1, data.n, -1)).sum(-1)
    prior = data.prior
    log_prior = (Pareto(prior.scale.double(), prior.alpha.double()) if isinstance(prior, Pareto)
                 else Normal(prior.loc.double(), prior.scale.double())).log_prob(f)
    terms = log_lik + log_prior - q.log_prob(f)
    return terms.mean(0), terms.std(0) / math.sqrt(num_draws)


def test_elbo_matches_many_draws(data):
    torch.manual_seed(0)
    small = course.StarData(data.psf, data.prior, data.background, data.true_fluxes[:4], data.images[:4])
    q_mean = small.true_fluxes.double() + torch.tensor([300.0, -800, 0, 2000], dtype=torch.float64)
    q_sd = torch.tensor([1500.0, 900, 3000, 1700], dtype=torch.float64)
    mean, se = monte_carlo_elbo(small, Normal(q_mean, q_sd), num_draws=20_000)
    assert ((elbo(small, q_mean, q_sd) - mean).abs() < 4 * se).all()


def test_shifted_lognormal_elbo_matches_many_draws_and_a_normal_q_gets_minus_inf():
    torch.manual_seed(1)
    data = course.simulate(n=3, seed=5, prior="pareto")
    shift = float(data.prior.scale)
    q_loc = ((data.true_fluxes.double() - shift).clamp(min=500)).log()
    q_scale = torch.tensor([0.3, 0.1, 0.6], dtype=torch.float64)
    mean, se = monte_carlo_elbo(data, q_distribution(q_loc, q_scale, shift), num_draws=20_000)
    assert ((elbo(data, q_loc, q_scale, shift=shift) - mean).abs() < 4 * se).all()
    assert (elbo(data, data.true_fluxes, torch.full((3,), 1000.0)) == -math.inf).all()


def test_elbo_is_below_the_evidence_by_the_kl_to_the_posterior(data):
    """(9): log p(x) - ELBO(q) = KL[q || p(f | x)], computed directly on a fine grid as the reference."""
    post = course.grid_posterior(data, bin_width=20, grid_size=25000)
    evidence = log_evidence(post)
    gen = torch.Generator().manual_seed(2)
    q_mean = post.mean + 1000 * torch.randn(data.n, generator=gen, dtype=torch.float64)
    q_sd = post.sd * (0.5 + torch.rand(data.n, generator=gen, dtype=torch.float64))
    log_q = Normal(q_mean.unsqueeze(1), q_sd.unsqueeze(1)).log_prob(post.grid)  # (n, G)
    log_post = post.log_joint - evidence.unsqueeze(1)
    kl = (log_q.exp() * (log_q - log_post)).sum(1) * 20  # Riemann sum of q (log q - log p(f | x))
    gap = evidence - elbo(data, q_mean, q_sd)
    assert (gap > 0).all()
    torch.testing.assert_close(gap, kl, rtol=1e-6, atol=1e-6)
    # the Normal with the posterior's moments: nearly exact here, the posterior being nearly Normal
    assert ((evidence - elbo(data, post.mean, post.sd)).abs() < 1e-5).all()


def test_per_image_vi_elbo_is_below_the_evidence(data, grid):
    fit = course.fit_vi(data, iterations=1500)
    gap = log_evidence(grid) - elbo(data, fit.q_mean, fit.q_sd)
    assert (gap > -1e-6).all() and (gap < 0.05).all()


def test_bad_input(data, grid):
    with pytest.raises(ValueError, match="q_sd must be > 0"):
        elbo(data, grid.mean, -grid.sd)
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        elbo(data, grid.mean[:3], grid.sd[:3])
    with pytest.raises(ValueError, match="at least 2 points"):
        log_evidence(course.grid_posterior(data, grid_size=1))
