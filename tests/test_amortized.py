import pytest
import torch

import course
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
    # float32 network: the last digits depend on the thread count
    torch.testing.assert_close(q_mean, lab_q.mean.double(), rtol=1e-5, atol=0)
    torch.testing.assert_close(q_sd, lab_q.stddev.double(), rtol=1e-5, atol=0)
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
    assert fit.history.steps == [0, 500, 1000, 1199] and [r.step for r in seen] == fit.history.steps


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
