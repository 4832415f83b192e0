"""Importance weights, the importance-weighted bound and PSIS k-hat, against plain references."""
import math

import pytest
import torch

import course
from course.diagnostics import iw_bound, log_weights, psis_khat, star_log_joint
from course.gaussian_vi import GaussianQ


@pytest.fixture(scope="module")
def stars():
    data = course.simulate(n=4, seed=0)
    return data, course.grid_posterior(data), star_log_joint(data)


def test_log_weights_are_the_log_joint_minus_log_q_at_the_draws(stars):
    data, grid, log_joint = stars
    q = GaussianQ.from_normal(grid.mean, 2 * grid.sd)
    lw = log_weights(log_joint, q, 5, seed=1)
    eps = torch.randn(4, 5, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    f = grid.mean.view(4, 1) + 2 * grid.sd.view(4, 1) * eps.squeeze(-1)  # (4, 5)
    likelihood = course.StarLikelihood(data.images, data.psf, data.background)
    normal = torch.distributions.Normal(grid.mean.view(4, 1), 2 * grid.sd.view(4, 1))
    expected = likelihood(f) + data.prior.log_prob(f) - normal.log_prob(f)
    assert torch.allclose(lw, expected.double(), rtol=0, atol=1e-6)


def test_the_bound_is_the_elbo_at_one_draw_and_rises_towards_log_evidence(stars):
    data, grid, log_joint = stars
    log_evidence = grid.log_joint.logsumexp(1) + math.log(100)  # the grid's bins are 100 wide
    q = GaussianQ.from_normal(grid.mean, 2 * grid.sd)  # too wide: its ELBO is well below log p(x), its weights bounded
    lw = log_weights(log_joint, q, 100000, seed=0)
    bounds = torch.stack([iw_bound(lw, K) for K in (1, 10, 100, 1000)])  # (4, n)
    assert torch.equal(bounds[0], lw.mean(1))
    assert (bounds.diff(dim=0) > 0).all()
    assert (log_evidence - bounds[0] > 0.3).all()  # KL[q || p] = (4 - 1 - log 4) / 2 ~ 0.81 for a Normal p
    assert (log_evidence - bounds[-1]).abs().max() < 0.01  # within the Monte Carlo error of 100 groups
    groups = lw.reshape(4, 10000, 10)
    top = lw.max()  # the log of a mean of weights, shifted so that exp does not underflow
    plain = ((groups - top).exp().mean(-1).log() + top).mean(-1)
    assert torch.allclose(iw_bound(lw, 10), plain)
    with pytest.raises(ValueError, match="K must be at most the number of draws"):
        iw_bound(lw, 100001)


@pytest.mark.parametrize("k", [0.25, 0.5, 0.8])
def test_khat_recovers_the_shape_of_a_pareto_tail(k):
    # weights w = u^(-k), u ~ Uniform(0, 1), are Pareto with tail shape k: P(w > t) = t^(-1/k)
    u = torch.rand(3, 100000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    khat = psis_khat(-k * u.log() - 1400.0)  # shifted as a real log joint would be: k-hat is scale-free
    assert khat.shape == (3,) and torch.allclose(khat, torch.full((3,), k, dtype=torch.float64), atol=0.1)
