"""Gaussian q over two fluxes: its density against torch's, and the fits against the grid and the theory."""
import pytest
import torch
from torch.distributions import MultivariateNormal

from course.gaussian_vi import GaussianQ, fit_gaussian_vi
from course.two_stars import TwoStarLogJoint, grid_posterior_2d, simulate_two_stars


@pytest.fixture(scope="module")
def pair():
    data = simulate_two_stars(n=2, separation=1.0, seed=0)
    return data, grid_posterior_2d(data), TwoStarLogJoint(data)


def test_the_density_and_entropy_are_torchs_multivariate_normal():
    rng = torch.Generator().manual_seed(0)
    mean = torch.randn(3, 2, generator=rng, dtype=torch.float64)
    tril = torch.randn(3, 2, 2, generator=rng, dtype=torch.float64).tril()
    tril.diagonal(dim1=1, dim2=2).copy_(torch.rand(3, 2, generator=rng, dtype=torch.float64) + 0.5)
    q, reference = GaussianQ(mean, tril), MultivariateNormal(mean, scale_tril=tril)
    f = torch.randn(3, 7, 2, generator=rng, dtype=torch.float64)
    assert torch.allclose(q.log_prob(f), reference.log_prob(f.transpose(0, 1)).T)
    assert torch.allclose(q.entropy(), reference.entropy())
    assert torch.allclose(q.sd, reference.variance.sqrt()) and torch.allclose(q.cov, reference.covariance_matrix)


def test_the_labs_q_is_a_one_latent_gaussian():
    q = GaussianQ.from_normal([60000.0, 70000.0], [1600.0, 1700.0])
    assert q.mean.shape == (2, 1) and q.scale_tril.shape == (2, 1, 1)
    assert q.sd.squeeze(-1).tolist() == [1600.0, 1700.0]


def test_mean_field_finds_the_conditional_sds_and_full_rank_the_marginal_ones(pair):
    data, grid, log_joint = pair
    conditional_sd = torch.linalg.inv(grid.cov).diagonal(dim1=1, dim2=2).rsqrt()  # 1 / sqrt(Lambda_jj)
    mean_field = fit_gaussian_vi(log_joint, data.prior, data.n, family="mean_field", iterations=1500)
    full_rank = fit_gaussian_vi(log_joint, data.prior, data.n, family="full_rank", iterations=1500)
    assert torch.allclose(mean_field.q.sd, conditional_sd, rtol=0.03)
    assert (mean_field.q.sd < 0.3 * grid.sd).all()  # rho = -0.96 here: sqrt(1 - rho^2) ~ 0.27
    assert torch.allclose(full_rank.q.sd, grid.sd, rtol=0.04)
    corr = full_rank.q.cov[:, 0, 1] / full_rank.q.sd.prod(-1)
    assert torch.allclose(corr, grid.corr, atol=0.01)
    assert torch.allclose(full_rank.q.mean, grid.mean, rtol=0, atol=0.1 * float(grid.sd.min()))
    # each -ELBO is above -log p(x), the full-rank one closer; the gap is KL[q || p]
    assert (full_rank.neg_elbo > -grid.log_evidence - 0.01).all()
    assert (mean_field.neg_elbo > full_rank.neg_elbo + 0.5).all()


def test_a_fit_is_seeded_and_a_bad_family_is_refused(pair):
    data, _, log_joint = pair
    first, again = (fit_gaussian_vi(log_joint, data.prior, data.n, iterations=20, seed=3) for _ in range(2))
    assert torch.equal(first.q.mean, again.q.mean) and torch.equal(first.history, again.history)
    with pytest.raises(ValueError, match="family must be one of"):
        fit_gaussian_vi(log_joint, data.prior, data.n, family="diagonal")
