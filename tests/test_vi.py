import math

import pytest
import torch
from torch.distributions import Normal

import course
from benchmarks.lab_formulation import lab_fit_vi, lab_neg_elbo
from course.likelihood import StarLikelihood
from course.vi import neg_elbo_grad


@pytest.fixture(scope="module")
def vi(data):
    return course.fit_vi(data)


def lab_terms(data, q_mean, q_sd, eps):
    """The lab's three statements through torch.distributions, in float64, on the same draws."""
    n, d = data.n, data.img_dim
    q = Normal(q_mean, q_sd)
    z = q_mean + q_sd * eps.T  # (S, n), as q.rsample would give for these eps
    rate = data.psf.double().view(1, d, d, 1) * z.T.reshape(n, 1, 1, -1) + data.background
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    return lab_neg_elbo(q, z, prior, rate, data.images.double().view(n, d, d, 1))


def test_neg_elbo_and_its_gradient_match_autograd_through_distributions(data):
    gen = torch.Generator().manual_seed(3)
    q_mean = (data.true_fluxes.double() + 500 * torch.randn(data.n, generator=gen, dtype=torch.float64)).requires_grad_()
    q_sd = (50 + 2000 * torch.rand(data.n, generator=gen, dtype=torch.float64)).requires_grad_()
    eps = torch.randn(data.n, 64, generator=gen, dtype=torch.float64)
    lik = StarLikelihood(data.images, data.psf, data.background)

    ref = lab_terms(data, q_mean, q_sd, eps)
    ref.backward()
    ours = course.neg_elbo(q_mean.detach(), q_sd.detach(), eps, data.prior, lik)
    torch.testing.assert_close(ours, ref.detach(), rtol=1e-10, atol=0)
    d_mean, d_sd = neg_elbo_grad(q_mean.detach(), q_sd.detach(), eps, data.prior, lik)
    torch.testing.assert_close(d_mean, q_mean.grad, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(d_sd, q_sd.grad, rtol=1e-8, atol=1e-8)


def test_ends_near_the_grid_posterior(vi, grid, data):
    sky_rmse = course.flux_rmse(data.true_fluxes, course.sky_subtracted_flux(data))
    assert course.flux_rmse(grid.mean, vi.q_mean) < 0.1 * sky_rmse
    # q_sd approximates the posterior SD (the grid's is ~1650 flux units)
    assert torch.allclose(vi.q_sd, grid.sd, rtol=0.15)


def test_agrees_with_the_labs_loop(data):
    """Same algorithm as the lab's code: after 300 steps both are equally close to the grid posterior."""
    ours = course.fit_vi(data, iterations=300)
    lab_mean, _ = lab_fit_vi(data, iterations=300)
    grid = course.grid_posterior(data)
    assert abs(course.flux_rmse(grid.mean, ours.q_mean) - course.flux_rmse(grid.mean, lab_mean)) < 150


def test_history_logs_the_first_steps_densely_then_every_200_and_the_last(vi):
    assert vi.history.steps == list(range(10)) + [10, 20, 50, 100] + list(range(200, 3000, 200)) + [2999]
    assert vi.history.objectives[-1] < vi.history.objectives[0]
    assert not vi.diverged and not vi.history.stopped


def test_logged_objective_is_minus_the_elbo_per_draw_with_the_same_draws_at_every_step(data):
    """Step 0 is logged before any update: its objective is (3) at the starting q with the fit's scoring draws."""
    from course.likelihood import StarLikelihood
    from course.vi import neg_elbo, scoring_draws
    fit = course.fit_vi(data, iterations=1, num_samples=32, seed=3)
    start = course.sky_subtracted_flux(data) + 5000
    eps = scoring_draws(data.n, 32, 3)  # (n, 32)
    want = float(neg_elbo(start, torch.full((data.n,), 100.0, dtype=torch.float64), eps, data.prior,
                          StarLikelihood(data.images, data.psf, data.background))) / 32
    assert fit.history.objectives[0] == pytest.approx(want, rel=1e-12)


def test_logging_does_not_change_the_fit(data):
    """Scoring uses draws of its own: the q after 300 steps is the same however often the fit logs."""
    often, rarely = course.fit_vi(data, iterations=300, log_every=1), course.fit_vi(data, iterations=300, log_every=1000)
    assert len(often.history) == 300 and rarely.history.steps == list(range(10)) + [10, 20, 50, 100, 200, 299]
    assert torch.equal(often.q_mean, rarely.q_mean) and torch.equal(often.q_sd, rarely.q_sd)


def test_same_seed_same_fit_other_seed_other_fit(data):
    a = course.fit_vi(data, iterations=50, seed=4)
    b = course.fit_vi(data, iterations=50, seed=4)
    c = course.fit_vi(data, iterations=50, seed=5)
    assert torch.equal(a.q_mean, b.q_mean) and not torch.equal(a.q_mean, c.q_mean)


def test_divergence_is_reported_not_raised(data):
    fit = course.fit_vi(data, lr=1e8, iterations=500, log_every=10)
    assert fit.diverged
    assert not math.isfinite(fit.history.objectives[-1]) and math.isnan(fit.history.rmses[-1])
    assert len(fit.history) < 50  # it stopped early


def test_callback_sees_each_logged_step_and_can_stop(data):
    seen = []
    fit = course.fit_vi(data, iterations=1000, log_every=100, callback=lambda r: seen.append(r) or r.step >= 300)
    assert [r.step for r in seen] == list(range(10)) + [10, 20, 50, 100, 200, 300]
    assert fit.history.stopped and fit.history.records == seen


def test_leaves_global_state_alone(data):
    threads = torch.get_num_threads()
    torch.manual_seed(11)
    expected = torch.rand(2)
    torch.manual_seed(11)
    with torch.no_grad():
        course.fit_vi(data, iterations=5)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.rand(2), expected)
    assert torch.get_num_threads() == threads


def test_progress_bar_writes_to_stderr_only_when_asked(data, capsys):
    course.fit_vi(data, iterations=5)
    assert capsys.readouterr().err == ""
    course.fit_vi(data, iterations=5, progress=True)
    assert "per-image VI" in capsys.readouterr().err
