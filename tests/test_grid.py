import math

import torch
from torch.distributions import Normal, Poisson

import course
from benchmarks.lab_formulation import lab_grid_posterior


def brute_force_posterior(data, bin_width, grid_size):
    """Plain loops over the grid in float64: one Poisson log-probability per grid point."""
    x = data.images.double()
    psf = data.psf.double()
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    grid = [0.1 * float(data.prior.mean) + g * bin_width for g in range(grid_size)]
    log_joint = torch.empty(data.n, grid_size, dtype=torch.float64)
    for g, f in enumerate(grid):
        rate = data.background + f * psf
        log_joint[:, g] = Poisson(rate).log_prob(x).sum((1, 2)) + prior.log_prob(torch.tensor(f, dtype=torch.float64))
    probs = torch.softmax(log_joint, 1)
    grid = torch.tensor(grid, dtype=torch.float64)
    mean = probs @ grid
    sd = (probs @ grid**2 - mean**2).sqrt()
    return grid, log_joint, probs, mean, sd


def test_matches_brute_force_float64(data):
    for bin_width, grid_size in [(100, 5000), (10000, 50), (37.5, 333)]:
        post = course.grid_posterior(data, bin_width=bin_width, grid_size=grid_size)
        grid, log_joint, probs, mean, sd = brute_force_posterior(data, bin_width, grid_size)
        torch.testing.assert_close(post.grid, grid, rtol=1e-12, atol=0)
        torch.testing.assert_close(post.log_joint, log_joint, rtol=1e-10, atol=0)
        # log p(x | f) is a difference of sums of size ~4e7, so float64 leaves ~1e-8 of slack in it
        torch.testing.assert_close(post.probs, probs, rtol=0, atol=1e-8)
        torch.testing.assert_close(post.mean, mean, rtol=1e-9, atol=0)
        torch.testing.assert_close(post.sd, sd, rtol=1e-6, atol=0)


def test_shapes_and_normalisation(grid, data):
    assert grid.probs.shape == (data.n, 5000) and grid.grid.shape == (5000,)
    assert grid.mean.shape == grid.sd.shape == (data.n,)
    torch.testing.assert_close(grid.probs.sum(1), torch.ones(data.n, dtype=torch.float64))
    assert grid.probs.dtype == torch.float64


def test_posterior_mean_beats_both_baselines_on_the_labs_data(grid, data):
    rmse = course.flux_rmse(data.true_fluxes, grid.mean)
    assert round(rmse) == 1177  # the lab prints 1180 from float32 sums
    assert rmse < course.flux_rmse(data.true_fluxes, course.sky_subtracted_flux(data))


def test_float32_lab_formulation_is_off_by_tens_of_flux_units(grid, data):
    """Why the engine works in float64: the lab's float32 sums move the posterior mean."""
    exact = lab_grid_posterior(data, dtype=torch.float64)
    torch.testing.assert_close(grid.mean, exact, rtol=1e-9, atol=0)
    assert (lab_grid_posterior(data).double() - exact).abs().max() > 10


def test_coarse_grid_of_exercise_3(data):
    post = course.grid_posterior(data, bin_width=10000, grid_size=50)
    assert post.grid[1] - post.grid[0] == 10000 and math.isfinite(course.flux_rmse(data.true_fluxes, post.mean))


def test_leaves_grad_mode_and_threads_alone(data):
    threads = torch.get_num_threads()
    with torch.enable_grad():
        course.grid_posterior(data, grid_size=10)
        assert torch.is_grad_enabled()
    assert torch.get_num_threads() == threads


def test_the_likelihood_not_the_prior_beats_sky_subtraction():
    """What vi_stars' Exercise 4 model answer says: with a flat prior instead of the lab's, the posterior mean's RMSE
    over seeds 0-19 is only about 2% higher, and it still beats the sky-subtracted flux on every seed."""
    ratios, wins = [], 0
    for seed in range(20):
        data = course.simulate(n=16, seed=seed)
        post = course.grid_posterior(data)
        flat = torch.softmax(post.log_joint - data.prior.log_prob(post.grid), dim=1)  # (n, G): likelihood only
        flat_rmse = course.flux_rmse(data.true_fluxes, flat @ post.grid)
        ratios.append(flat_rmse / course.flux_rmse(data.true_fluxes, post.mean))
        wins += flat_rmse < course.flux_rmse(data.true_fluxes, course.sky_subtracted_flux(data))
    assert wins == 20 and 1.01 < sum(ratios) / 20 < 1.03
