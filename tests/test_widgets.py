"""The live explorers, driven from Python: values set as a slider would set them, results checked against course."""
import math

import pytest
import torch

import course
from course.widgets import (GridExplorer, LearningRateExplorer, compare_posteriors, encoder_explorer, learning_curves,
                            posterior_table)


@pytest.fixture(scope="module")
def grid_explorer(data):
    return GridExplorer(data)


def test_grid_explorer_starts_at_the_labs_grid(grid_explorer, data, grid):
    assert (grid_explorer.bin_width.value, grid_explorer.grid_size.value) == (100, 5000)
    assert grid_explorer.rmse == course.flux_rmse(data.true_fluxes, grid.mean)
    assert "1,177.2" in grid_explorer.scores.value and "1,745.1" in grid_explorer.scores.value


def test_grid_explorer_follows_its_sliders(grid_explorer, data):
    before = grid_explorer.image.value
    grid_explorer.bin_width.value = 10000  # what the browser does on release of the handle
    grid_explorer.grid_size.value = 50
    expected = course.grid_posterior(data, bin_width=10000, grid_size=50)
    assert grid_explorer.rmse == course.flux_rmse(data.true_fluxes, expected.mean)
    assert f"{grid_explorer.rmse:,.1f}" in grid_explorer.scores.value
    assert grid_explorer.image.value != before and bytes(grid_explorer.image.value).startswith(b"\x89PNG")
    # the plotted curves are the posterior of the first images
    line = grid_explorer.axes[0].get_lines()[0]
    assert list(line.get_xdata()) == expected.grid.tolist()
    assert list(line.get_ydata()) == (expected.probs[0] / 10000).tolist()  # a density: probability per flux unit


def test_grid_explorer_update_moves_the_sliders(grid_explorer):
    grid_explorer.update(bin_width=200, grid_size=2000)
    assert (grid_explorer.bin_width.value, grid_explorer.grid_size.value) == (200, 2000)
    with pytest.raises(ValueError, match="must be one of"):
        grid_explorer.update(bin_width=123)


class RecordingFit:
    """fit_vi, remembering each call's learning rate and result."""

    def __init__(self):
        self.calls = []

    def __call__(self, data, **options):
        result = course.fit_vi(data, **options)
        self.calls.append((options["lr"], result))
        return result


def test_vi_explorer_matches_fit_vi_and_reports_divergence(data):
    explorer = LearningRateExplorer(data, iterations=600)
    explorer.wait()
    expected = course.fit_vi(data, lr=100, iterations=600, log_every=100)
    assert explorer.result.q_mean.tolist() == expected.q_mean.tolist()
    assert f"RMSE <b>{expected.history.rmses[-1]:,.0f}</b>" in explorer.status.value
    assert explorer.progress.value == 600 and explorer.progress.bar_style == "success"

    explorer.run(lr=1e8)  # far too large: the objective overflows
    assert explorer.lr.value == 1e8
    assert explorer.result.diverged and "diverged" in explorer.status.value
    assert explorer.progress.bar_style == "danger"
    assert not math.isfinite(explorer.records[-1].objective)


def test_a_fit_whose_q_sd_sits_at_the_floor_is_not_shown_as_a_success(data):
    # at lr 1e5 the first steps throw every q_sd below the clamp: the objective stays finite, q is a point mass
    explorer = LearningRateExplorer(data, iterations=300)
    explorer.wait()
    explorer.run(lr=1e5)
    expected = course.fit_vi(data, lr=1e5, iterations=300, log_every=100)
    assert not expected.diverged and (expected.q_sd <= 1e-4).all()
    assert explorer.progress.bar_style == "warning"
    assert f"q_sd is at its floor of 0.0001 for {data.n} of {data.n} images" in explorer.status.value
    assert "not converged" in explorer.status.value


def test_moving_the_slider_stops_the_run_in_flight(data):
    fit = RecordingFit()
    explorer = LearningRateExplorer(data, fit=fit, iterations=20000, log_every=50)
    explorer.lr.value = 1000  # while the first run (lr 100) trains in the background
    explorer.wait()
    explorer.wait()
    (first_lr, first), (last_lr, last) = fit.calls[0], fit.calls[-1]
    assert first_lr == 100 and first.history.stopped and first.history.steps[-1] < 19999
    assert last_lr == 1000 and not last.history.stopped and last.history.steps[-1] == 19999
    assert explorer.result is last and "learning rate 1000:" in explorer.status.value


def test_a_failing_fit_is_shown_not_raised(data):
    def broken(data, **options):
        raise RuntimeError("out of memory")

    explorer = LearningRateExplorer(data, fit=broken)
    explorer.wait()
    assert "RuntimeError: out of memory" in explorer.status.value and explorer.progress.bar_style == "danger"


def test_encoder_explorer_trains_the_encoder(data):
    explorer = encoder_explorer(data, iterations=200)
    explorer.wait()
    expected = course.fit_amortized(data, iterations=200, log_every=100)
    assert isinstance(explorer.result, course.AmortizedResult)
    assert explorer.records == expected.history.records
    assert explorer.lr.description == "encoder learning rate"


def test_grid_explorer_draws_a_density_whatever_the_bin_width(grid_explorer, data):
    """probs / bin width: the area under the curve is one, so its height does not follow the slider."""
    for bin_width in (50, 200):
        grid_explorer.update(bin_width=bin_width, grid_size=5000)
        y = torch.tensor(grid_explorer.axes[0].get_lines()[0].get_ydata())
        expected = course.grid_posterior(data, bin_width=bin_width, grid_size=5000)
        torch.testing.assert_close(y, expected.probs[0] / bin_width, rtol=1e-12, atol=0)
        assert abs(float(y.sum()) * bin_width - 1) < 1e-9
    assert "density" in grid_explorer.axes[0].get_ylabel()


def test_compare_posteriors_overlays_each_q_as_a_normal_density(data, grid):
    q = {"q A": (grid.mean + 500, grid.sd * 0.5), "q B": (grid.mean, grid.sd)}
    fig = compare_posteriors(data, grid, q, images=(1, 4))
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_ylabel() and all(ax.get_xlabel() == "flux" for ax in axes)
    for ax, i in zip(axes, (1, 4)):
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["grid posterior", "q A", "q B", "true flux"]
        x = torch.tensor(lines[1].get_xdata(), dtype=torch.float64)
        want = torch.distributions.Normal(grid.mean[i] + 500, grid.sd[i] * 0.5).log_prob(x).exp()  # float64
        torch.testing.assert_close(torch.tensor(lines[1].get_ydata()), want, rtol=1e-9, atol=1e-15)
        assert lines[3].get_xdata()[0] == float(data.true_fluxes[i])
        # a q equal in mean and SD to the grid posterior peaks near it: the grid posterior is nearly Normal
        assert abs(max(lines[2].get_ydata()) / max(lines[0].get_ydata()) - 1) < 0.05
    table = posterior_table(data, grid, q, images=(1, 4))
    assert f"{float(grid.mean[4] + 500):11,.0f}" in table and f"{float(data.true_fluxes[1]):9,.0f}" in table


def test_learning_curves_plot_the_logged_objective_and_rmse(data):
    fit = course.fit_vi(data, iterations=400, log_every=100)
    fig = learning_curves({"vi": fit.history.records})
    objective, rmse = (ax.get_lines()[0] for ax in fig.get_axes())
    assert list(objective.get_xdata()) == fit.history.steps and list(objective.get_ydata()) == fit.history.objectives
    assert list(rmse.get_xdata()) == fit.history.steps and list(rmse.get_ydata()) == fit.history.rmses


def test_learning_curves_show_where_a_run_diverged(data):
    """A run that blows up in its first steps is drawn up to its last finite value, marked, and named."""
    fit = course.fit_amortized(data, batch_norm=False, iterations=8000, log_every=500)
    fig = learning_curves({"no BatchNorm": fit.history.records})
    ax = fig.get_axes()[1]
    curve, mark = ax.get_lines()[:2]
    assert list(curve.get_xdata()) == fit.history.steps[:-1] and mark.get_marker() == "x"
    assert fig.legends[0].get_texts()[0].get_text() == f"no BatchNorm: diverged at step {fit.history.steps[-1]}"
