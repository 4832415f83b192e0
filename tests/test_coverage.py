"""Credible intervals and their coverage, against plain references and the calibration of the exact posterior."""
import math
from statistics import NormalDist

import pytest
import torch

import course
from course.coverage import coverage, coverage_table, grid_interval, normal_interval, simulate_seeds


def test_simulate_seeds_stacks_the_data_sets_of_each_seed():
    stacked = simulate_seeds([3, 8], n=2, img_dim=5)
    for k, seed in enumerate([3, 8]):
        alone = course.simulate(n=2, img_dim=5, seed=seed)
        assert torch.equal(stacked.images[2 * k:2 * k + 2], alone.images)
        assert torch.equal(stacked.true_fluxes[2 * k:2 * k + 2], alone.true_fluxes)
    assert stacked.n == 4
    with pytest.raises(ValueError, match="at least one seed"):
        simulate_seeds([])


def test_normal_interval_is_mean_plus_minus_the_normal_quantile():
    lower, upper = normal_interval(torch.tensor([10.0, -3.0]), torch.tensor([2.0, 0.5]), 0.95)
    z = NormalDist().inv_cdf(0.975)
    torch.testing.assert_close(lower, torch.tensor([10 - 2 * z, -3 - 0.5 * z], dtype=torch.float64), rtol=1e-12, atol=0)
    torch.testing.assert_close(upper, torch.tensor([10 + 2 * z, -3 + 0.5 * z], dtype=torch.float64), rtol=1e-12, atol=0)
    for bad in (0, 1, 1.5, -0.2):
        with pytest.raises(ValueError, match="level must be a probability"):
            normal_interval(torch.zeros(1), torch.ones(1), bad)



@pytest.mark.parametrize("level", [0.5, 0.9, 0.95])
def test_coverage_of_normal_intervals_counts_true_values_inside(level):
    gen = torch.Generator().manual_seed(6)
    truth, q_mean, q_sd = torch.randn(200, generator=gen), torch.randn(200, generator=gen), torch.rand(200, generator=gen) * 2
    z = NormalDist().inv_cdf((1 + level) / 2)
    inside = sum(1 for t, m, s in zip(truth.tolist(), q_mean.tolist(), q_sd.tolist()) if m - z * s <= t <= m + z * s)
    assert coverage(truth, *normal_interval(q_mean, q_sd, level)) == inside / 200
    with pytest.raises(ValueError, match="true_fluxes, lower and upper must have one shape"):
        coverage(truth, *normal_interval(q_mean[:3], q_sd[:3], level))

def plain_quantile(grid, probs, q, width):
    """Walk up the bins, each holding its probability uniformly, until the running mass reaches q."""
    running = 0.0
    for f, p in zip(grid, probs):
        if running + p >= q:
            return f - width / 2 + (q - running) / p * width
        running += p
    return grid[-1] + width / 2


def test_grid_interval_matches_a_plain_walk_and_the_normal_interval_of_a_nearly_normal_posterior(data, grid):
    lower, upper = grid_interval(grid, 0.68)
    for i in (0, 5, 15):
        probs = grid.probs[i].tolist()
        assert math.isclose(float(lower[i]), plain_quantile(grid.grid.tolist(), probs, 0.16, 100), abs_tol=1e-6)
        assert math.isclose(float(upper[i]), plain_quantile(grid.grid.tolist(), probs, 0.84, 100), abs_tol=1e-6)
    n_lower, n_upper = normal_interval(grid.mean, grid.sd, 0.68)
    assert ((lower - n_lower).abs() < 0.05 * grid.sd).all() and ((upper - n_upper).abs() < 0.05 * grid.sd).all()


def test_coverage_counts_the_true_values_inside():
    assert coverage(torch.tensor([1.0, 2, 3, 4]), torch.tensor([0.0, 2.5, 3, 0]), torch.tensor([2.0, 3, 3, 3])) == 0.5
    with pytest.raises(ValueError, match="one shape"):
        coverage(torch.zeros(3), torch.zeros(2), torch.zeros(3))


def test_the_exact_posterior_covers_at_its_nominal_rate_over_100_seeds():
    data = simulate_seeds(range(100, 200), n=8)  # 800 stars drawn from the prior the posterior assumes
    post = course.grid_posterior(data)
    for level in (0.5, 0.68, 0.95):
        observed = coverage(data.true_fluxes, *grid_interval(post, level))
        assert abs(observed - level) < 3 * math.sqrt(level * (1 - level) / data.n), (level, observed)


def test_coverage_table_fits_each_method_once():
    data = simulate_seeds(range(3), n=4)
    table = coverage_table(data, levels=(0.5, 0.9), vi_options={"iterations": 20}, amortized_options={"iterations": 20})
    assert set(table) == {"grid", "vi", "amortized"} and all(len(v) == 2 for v in table.values())
    assert all(0 <= c <= 1 for v in table.values() for c in v)
    with pytest.raises(ValueError, match="Normal prior"):
        coverage_table(course.simulate(n=4, prior="pareto"))
