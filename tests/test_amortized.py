import dataclasses
import math

import pytest
import torch

import course
from course.coverage import coverage, normal_interval
from benchmarks.lab_formulation import LabEncoder


@pytest.fixture(scope="module")
def amortized(data):
    return course.fit_amortized(data)  # the lab's settings: 30000 steps (about 30 s here)


def test_default_fit_beats_sky_subtraction(amortized, data):
    sky_rmse = course.flux_rmse(data.true_fluxes, course.sky_subtracted_flux(data))
    q_mean, q_sd = amortized.posterior()
    assert course.flux_rmse(data.true_fluxes, q_mean) < sky_rmse
    assert q_mean.shape == q_sd.shape == (data.n,) and (q_sd > 0).all()
    assert amortized.history.rmses[-1] < sky_rmse


def test_scores_with_the_batch_statistics_it_was_trained_with(amortized, data):
    """The encoder is scored as the lab scores it (training-mode BatchNorm), and scoring changes nothing."""
    lab = LabEncoder(data.img_dim)
    lab.load_state_dict(amortized.encoder.state_dict(), strict=False)  # the lab's BatchNorm adds running buffers
    lab.train()
    with torch.no_grad():
        lab_q = lab(data.images)
    q_mean, q_sd = amortized.posterior()
    # float32 network: the last digits depend on the thread count and on the CPU kernels (cpu.env's AVX2 ones put
    # two of the 16 means 2.5e-5 apart: the first layer sums 225 counts of ~20,000 and BatchNorm then subtracts the
    # batch's mean, which magnifies float32's rounding). Scoring with other statistics (running ones, eval mode)
    # moves the means by percent, far past this tolerance.
    torch.testing.assert_close(q_mean, lab_q.mean.double(), rtol=1e-4, atol=0)
    torch.testing.assert_close(q_sd, lab_q.stddev.double(), rtol=1e-4, atol=0)
    again, _ = amortized.posterior()
    assert torch.equal(again, q_mean)
    # the same answer whether or not someone called .eval(): there are no running statistics to switch to
    amortized.encoder.eval()
    torch.testing.assert_close(amortized.posterior()[0], q_mean)


def test_posterior_of_new_images(amortized):
    other = course.simulate(n=32, seed=9)
    q_mean, _ = amortized.posterior(other.images)
    assert q_mean.shape == (32,)
    with pytest.raises(ValueError, match="at least 2 images"):
        amortized.posterior(other.images[:1])


def test_without_batch_norm_any_batch_size_works(data):
    fit = course.fit_amortized(data, batch_norm=False, iterations=20)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fit.encoder.modules())
    assert fit.posterior(data.images[:1])[0].shape == (1,)


def test_same_seed_same_encoder(data):
    a = course.fit_amortized(data, iterations=30, seed=2)
    b = course.fit_amortized(data, iterations=30, seed=2)
    torch.testing.assert_close(a.posterior()[0], b.posterior()[0], rtol=0, atol=0)


def test_history_and_callback(data):
    seen = []
    fit = course.fit_amortized(data, iterations=1200, callback=seen.append)
    assert fit.history.steps == list(range(10)) + [10, 20, 50, 100, 200, 500, 1000, 1199]
    assert [r.step for r in seen] == fit.history.steps


def test_logged_objective_is_over_every_image_with_the_same_draws(data):
    """Not one minibatch's value: (3) per draw over all n images, with fixed draws, at the starting encoder."""
    from course.likelihood import StarLikelihood
    from course.vi import neg_elbo, scoring_draws
    from course.amortized import encoder_posterior
    fit = course.fit_amortized(data, iterations=1, num_samples=16, seed=5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)  # the weights fit_amortized starts from
        encoder = course.StarEncoder(data.img_dim, 64, batch_norm=True)
    q_mean, q_sd = encoder_posterior(encoder, data.images)
    want = float(neg_elbo(q_mean, q_sd, scoring_draws(data.n, 16, 5), data.prior,
                          StarLikelihood(data.images, data.psf, data.background))) / 16
    assert fit.history.objectives[0] == pytest.approx(want, rel=1e-9)


def test_logging_does_not_change_the_encoder(data):
    often = course.fit_amortized(data, iterations=200, log_every=1)
    rarely = course.fit_amortized(data, iterations=200, log_every=1000)
    assert len(often.history) == 200
    torch.testing.assert_close(often.posterior()[0], rarely.posterior()[0], rtol=0, atol=0)


def test_a_run_that_diverges_in_its_first_steps_is_logged_where_it_did(data):
    """Without BatchNorm the lab's encoder blows up within a few steps at lr 1e-3: the history shows those steps."""
    fit = course.fit_amortized(data, batch_norm=False, iterations=8000, log_every=500)
    assert fit.diverged and fit.history.steps[-1] < 10
    assert fit.history.objectives[1] > 1e6 * fit.history.objectives[0]  # it exploded before it became NaN


def test_divergence_is_reported_not_raised(data):
    fit = course.fit_amortized(data, lr=10.0, iterations=2000, log_every=20)
    assert fit.diverged


def test_leaves_global_state_alone(data):
    torch.manual_seed(11)
    expected = torch.rand(2)
    torch.manual_seed(11)
    course.fit_amortized(data, iterations=5)
    assert torch.equal(torch.rand(2), expected)
    assert not torch.is_inference_mode_enabled() and torch.is_grad_enabled()


# --- the lab's design, measured: what the notebook's section 5 shows -------------------------------------------

def test_lab_design_pins_every_q_sd_at_the_clamp(amortized, data, grid):
    """q_sd = exp(clamp(out, -6, 6)) in flux units: the posterior SD (~1,660) is out of reach, so every image gets e^6."""
    _, q_sd = amortized.posterior()
    torch.testing.assert_close(q_sd, torch.full_like(q_sd, math.exp(6)), rtol=1e-6, atol=0)
    assert (grid.sd > 4 * q_sd).all()


def test_batch_norm_answer_depends_on_the_batch(amortized, data):
    """The same image, scored beside different companions, gets a different q_mean: batch statistics."""
    other = course.simulate(n=16, seed=1)
    alone_with_own = amortized.posterior(data.images[:8])[0][0]
    with_others = amortized.posterior(torch.cat([data.images[:1], other.images[:7]]))[0][0]
    assert abs(float(alone_with_own - with_others)) > 1.0


# --- the standardized design: equation (6), a plain reference ------------------------------------------------

def reference_standardized_q(encoder, images, background, flux_mean, flux_sd, bound=5.0):
    """Equation (6) written out with the encoder's weights and plain tensor algebra (no nn modules)."""
    w1, b1, w2, b2, w3, b3 = (p.detach() for p in encoder.net.parameters())
    x = (images.reshape(images.shape[0], -1).float() - background) / math.sqrt(background)
    h = torch.relu(x @ w1.T + b1)
    h = torch.relu(h @ w2.T + b2)
    out = h @ w3.T + b3
    return flux_mean + flux_sd * out[:, 0], flux_sd * torch.exp(bound * torch.tanh(out[:, 1] / bound))


def test_standardized_encoder_is_equation_6(data):
    scales = (data.background, 64000.0, 12800.0)
    torch.manual_seed(3)
    encoder = course.StarEncoder(data.img_dim, 16, batch_norm=False, standardized=scales)
    q_mean, q_sd = encoder(data.images)
    want_mean, want_sd = reference_standardized_q(encoder, data.images, *scales)
    torch.testing.assert_close(q_mean, want_mean, rtol=1e-5, atol=1e-2)
    torch.testing.assert_close(q_sd, want_sd, rtol=1e-5, atol=1e-3)
    assert {name for name, _ in encoder.named_buffers()} == {"background", "flux_mean", "flux_sd"}


def test_smooth_bound_keeps_a_gradient_where_the_clamp_has_none(data):
    """Far past the bound, tanh still passes a (small) gradient; the lab's clamp passes exactly none."""
    scales = (data.background, 64000.0, 12800.0)
    for standardized, bound_sd in ((scales, 12800.0 * math.exp(course.amortized.LOG_SD_BOUND)), (None, math.exp(6))):
        torch.manual_seed(0)
        encoder = course.StarEncoder(data.img_dim, 8, batch_norm=False, standardized=standardized)
        with torch.no_grad():
            encoder.net[-1].bias[1] = 8.0  # log-SD output well above either bound
            encoder.net[-1].weight.zero_()
        _, q_sd = encoder(data.images[:2])
        q_sd.sum().backward()
        grad = float(encoder.net[-1].bias.grad[1])
        assert float(q_sd.detach().max()) <= bound_sd * (1 + 1e-6)
        assert (grad > 0) if standardized else (grad == 0)


def test_posterior_of_one_image_without_batch_norm_does_not_depend_on_the_batch(data):
    fit = course.fit_amortized(data, batch_norm=False, standardized=True, optimizer="adam", iterations=50, lr=3e-3)
    together = fit.posterior(data.images)
    for i in (0, 5):
        alone = fit.posterior(data.images[i:i + 1])
        torch.testing.assert_close(alone[0], together[0][i:i + 1], rtol=1e-6, atol=0)
        torch.testing.assert_close(alone[1], together[1][i:i + 1], rtol=1e-6, atol=0)


# --- fresh images from the model ----------------------------------------------------------------------------

def test_draw_images_is_the_model_drawn_by_inverse_cdf(data):
    """draw_images against the model written out: f = mu + sigma sqrt(2) erfinv(2u - 1), x ~ Poisson(b + f psf)."""
    fluxes, images = course.amortized.draw_images(data, 5, torch.Generator().manual_seed(4))
    gen = torch.Generator().manual_seed(4)
    u = torch.rand(5, generator=gen, dtype=torch.float64)
    want_f = 64000.0 + 12800.0 * math.sqrt(2) * torch.erfinv(2 * u - 1)
    torch.testing.assert_close(fluxes, want_f, rtol=1e-6, atol=0)
    want_x = torch.poisson(data.background + want_f.view(5, 1, 1) * data.psf.double(), generator=gen)
    assert torch.equal(images, want_x.float())


def test_drawn_fluxes_follow_the_prior(data):
    fluxes, _ = course.amortized.draw_images(data, 4000, torch.Generator().manual_seed(5))
    standard_error = 12800 / math.sqrt(4000)
    assert abs(float(fluxes.mean()) - 64000) < 4 * standard_error
    assert abs(float(fluxes.std()) / 12800 - 1) < 0.05


@pytest.fixture(scope="module")
def fresh_fit(data):
    """The notebook's fixed encoder: standardized, no BatchNorm, Adam, fresh images at every step."""
    return course.fit_amortized(data, batch_norm=False, standardized=True, fresh_images=True, optimizer="adam",
                                lr=3e-3, iterations=1000, minibatch=32, num_samples=16)


def test_fresh_images_amortize_to_a_new_draw(fresh_fit):
    """Trained once on draws from the prior, the encoder scores another seed's images near the grid's accuracy."""
    held_out = course.simulate(n=256, seed=2)
    grid = course.grid_posterior(held_out)
    q_mean, q_sd = fresh_fit.posterior(held_out.images)
    grid_rmse = course.flux_rmse(held_out.true_fluxes, grid.mean)
    assert course.flux_rmse(held_out.true_fluxes, q_mean) < 1.1 * grid_rmse
    torch.testing.assert_close(q_sd.mean(), grid.sd.mean(), rtol=0.1, atol=0)
    assert 0.8 < coverage(held_out.true_fluxes, *normal_interval(q_mean, q_sd, 0.9)) < 0.97


def test_fresh_images_never_reads_the_data_images(data, fresh_fit):
    """With fresh_images the data set only scores the fit: other images, same model, same training."""
    other = dataclasses.replace(data, images=course.simulate(seed=7).images, true_fluxes=course.simulate(seed=7).true_fluxes)
    again = course.fit_amortized(other, batch_norm=False, standardized=True, fresh_images=True, optimizer="adam",
                                 lr=3e-3, iterations=1000, minibatch=32, num_samples=16)
    torch.testing.assert_close(again.posterior(data.images)[0], fresh_fit.posterior(data.images)[0], rtol=0, atol=0)


def live_units(fit, images):
    """How many first-layer ReLUs of the encoder are on for at least one of `images`."""
    with torch.no_grad():
        hidden = fit.encoder.net[:2](images.reshape(images.shape[0], -1).float())  # (m, width)
    return int((hidden.amax(0) > 0).sum())


def test_the_narrow_encoder_dies_and_the_wide_one_does_not(data):
    """What vi_stars' Exercise 9 model answer says: at lr 1e-3 every first-layer unit of the width-8 encoder is off
    for every image within five steps, so it gives all images one q_mean; at 1e-2, and at width 64, some live."""
    dead = course.fit_amortized(data, hidden_width=8, iterations=5)
    assert live_units(dead, data.images) == 0
    later = course.fit_amortized(data, hidden_width=8, iterations=300)
    assert live_units(later, data.images) == 0 and float(later.posterior()[0].std()) == 0.0
    assert live_units(course.fit_amortized(data, hidden_width=8, lr=1e-2, iterations=300), data.images) > 0
    assert live_units(course.fit_amortized(data, hidden_width=64, iterations=300), data.images) > 0
