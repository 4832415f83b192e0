"""Two overlapping stars: the model, its log joint and its 2-D grid posterior, against plain references."""
import math

import pytest
import torch
from torch.distributions import Normal, Poisson

import course
from course.two_stars import TwoStarLogJoint, grid_posterior_2d, shifted_psf, simulate_two_stars, two_star_psfs


def plain_log_joint(data, flux):
    """log p(x, f) pixel by pixel with torch's Poisson and Normal: flux (n, S, 2) -> (n, S)."""
    light = torch.einsum("nsk,kij->nsij", flux.clamp(min=0), data.psfs.double())  # (n, S, d, d)
    rate = data.background + light
    counts = data.images.double().unsqueeze(1)  # (n, 1, d, d)
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    return Poisson(rate).log_prob(counts).sum((-1, -2)) + prior.log_prob(flux).sum(-1)


@pytest.fixture(scope="module")
def close_pair():
    return simulate_two_stars(n=3, separation=1.0, seed=4)


def test_a_psf_moved_by_nothing_is_the_labs():
    assert torch.equal(shifted_psf(15, 0), course.make_psf(15))


def test_the_two_psfs_mirror_each_other_and_each_holds_one_star():
    psfs = two_star_psfs(15, 2.5)  # (2, 15, 15): between pixels
    assert psfs.sum((1, 2)).tolist() == pytest.approx([1.0, 1.0])
    assert torch.allclose(psfs[0], psfs[1].flip(-1))
    assert psfs[0].sum(0).argmax() < 7 < psfs[1].sum(0).argmax()  # left and right of the centre column


def test_separations_that_leave_the_image_or_are_not_positive_are_refused():
    with pytest.raises(ValueError, match="separation must be < 7"):
        two_star_psfs(15, 7)
    with pytest.raises(ValueError, match="separation must be a finite number > 0"):
        two_star_psfs(15, 0)


def test_simulation_is_the_model_and_is_seeded(close_pair):
    again = simulate_two_stars(n=3, separation=1.0, seed=4)
    assert torch.equal(again.images, close_pair.images) and torch.equal(again.true_fluxes, close_pair.true_fluxes)
    lab = course.simulate(n=1, seed=0)
    assert (float(close_pair.prior.mean), close_pair.background) == (float(lab.prior.mean), lab.background)
    many = simulate_two_stars(n=400, separation=1.0, seed=1)
    expected = many.background * 225 + many.true_fluxes.clamp(min=0).sum(1)  # each PSF sums to 1
    assert many.images.sum((1, 2)).double().mean() == pytest.approx(float(expected.mean()), rel=2e-3)


def test_the_log_joint_is_the_pixel_by_pixel_poisson_and_normal(close_pair):
    rng = torch.Generator().manual_seed(0)
    flux = 64000 + 20000 * torch.randn(3, 5, 2, generator=rng, dtype=torch.float64)
    flux[0, 0] = torch.tensor([-300.0, 70000.0])  # a negative flux gives no light but keeps its prior
    assert torch.allclose(TwoStarLogJoint(close_pair)(flux), plain_log_joint(close_pair, flux), rtol=0, atol=1e-7)


def test_the_laplace_mode_is_where_the_log_joint_is_flat(close_pair):
    log_joint = TwoStarLogJoint(close_pair)
    mode, cov = log_joint.laplace()
    flux = mode.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(log_joint(flux.unsqueeze(1)).sum(), flux)
    assert grad.abs().max() < 1e-9
    def first_image(f):  # (2,) -> the first image's log joint at f
        return log_joint(torch.cat([f.view(1, 1, 2), mode[1:].unsqueeze(1)]))[0, 0]

    hessian = torch.autograd.functional.hessian(first_image, mode[0].clone())
    assert torch.allclose(torch.linalg.inv(-hessian), cov[0], rtol=1e-6)


def test_the_grid_posterior_is_a_plain_riemann_sum_over_the_fluxes(close_pair):
    post = grid_posterior_2d(close_pair)
    # a plain, axis-aligned grid in flux units, wide and fine enough for these three posteriors (the log joint
    # itself is checked pixel by pixel above)
    axis = torch.arange(0, 140001, 250, dtype=torch.float64)  # (A,)
    points = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(1, -1, 2).expand(3, -1, 2)
    log_joint = TwoStarLogJoint(close_pair)(points)  # (3, A * A)
    log_evidence = log_joint.logsumexp(1) + 2 * math.log(250)
    probs = log_joint.softmax(1)
    mean = torch.einsum("ns,nsa->na", probs, points)
    centred = points - mean.unsqueeze(1)
    cov = torch.einsum("ns,nsa,nsb->nab", probs, centred, centred)
    assert torch.allclose(post.log_evidence, log_evidence, rtol=0, atol=1e-6)
    assert torch.allclose(post.mean, mean, rtol=1e-8)
    assert torch.allclose(post.cov, cov, rtol=1e-5)
    assert post.probs.sum((1, 2)).tolist() == pytest.approx([1.0] * 3)


def test_closer_stars_are_more_strongly_anticorrelated():
    corr = [float(grid_posterior_2d(simulate_two_stars(n=1, separation=s, seed=0), grid_size=101).corr)
            for s in (4.0, 2.0, 1.0, 0.5)]
    assert all(-1 < c < 0 for c in corr) and corr == sorted(corr, reverse=True)
    assert corr[-1] < -0.95
