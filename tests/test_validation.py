"""Bad input raises ValueError naming the argument and what is allowed."""
import dataclasses

import pytest
import torch

import course


@pytest.mark.parametrize("kwargs, message", [
    ({"img_dim": 4}, "img_dim must be an odd integer >= 3"),
    ({"img_dim": 1}, "img_dim must be an integer >= 3"),
    ({"img_dim": 15.0}, "img_dim must be an integer"),
    ({"n": 0}, "n must be an integer >= 1"),
    ({"n": True}, "n must be an integer >= 1"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"device": "tpu"}, "device must be"),
])
def test_simulate(kwargs, message):
    with pytest.raises(ValueError, match=message):
        course.simulate(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"grid_size": 0}, "grid_size must be an integer >= 1"),
    ({"grid_size": 2.5}, "grid_size must be an integer >= 1"),
    ({"bin_width": 0}, "bin_width must be a finite number > 0"),
    ({"bin_width": -100}, "bin_width must be a finite number > 0"),
    ({"bin_width": float("nan")}, "bin_width must be a finite number > 0"),
])
def test_grid_posterior(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        course.grid_posterior(data, **kwargs)


@pytest.mark.parametrize("fit", [course.fit_vi, course.fit_amortized])
@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"lr": -1e-3}, "lr must be a finite number > 0"),
    ({"lr": float("inf")}, "lr must be a finite number > 0"),
    ({"iterations": 0}, "iterations must be an integer >= 1"),
    ({"num_samples": 0}, "num_samples must be an integer >= 1"),
    ({"log_every": 0}, "log_every must be an integer >= 1"),
])
def test_fitters(data, fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(data, **kwargs)


def test_amortized_specific_options(data):
    with pytest.raises(ValueError, match="minibatch must be an integer >= 2"):
        course.fit_amortized(data, minibatch=1)
    with pytest.raises(ValueError, match="hidden_width must be an integer >= 1"):
        course.fit_amortized(data, hidden_width=0)
    with pytest.raises(ValueError, match=r"optimizer must be one of \('sgd', 'adam'\), got 'rmsprop'"):
        course.fit_amortized(data, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"standardized must be None or \(background, flux_mean, flux_sd\)"):
        course.StarEncoder(standardized=(1.0, 2.0))
    with pytest.raises(ValueError, match="standardized's flux_sd must be a finite number > 0"):
        course.StarEncoder(standardized=(19200.0, 64000.0, -1.0))


def test_one_image_needs_an_encoder_without_batch_norm(data):
    fit = course.fit_amortized(data, iterations=2)
    with pytest.raises(ValueError, match="images must hold at least 2 images.*batch_norm=False"):
        fit.posterior(data.images[:1])


def test_cuda_asked_for_but_absent(data):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        course.fit_vi(data, device="cuda")


@pytest.mark.parametrize("images, message", [
    (lambda x: x - 30000, "counts >= 0"),
    (lambda x: x + 0.5, "whole photon counts"),
    (lambda x: x.clone().fill_(float("nan")), "NaN or inf"),
    (lambda x: x[:, :14, :14], r"shape \(n, 15, 15\)"),
    (lambda x: x[0], r"shape \(n, 15, 15\)"),
    (lambda x: x.numpy(), "must be a torch.Tensor"),
])
def test_bad_images(data, images, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(data, images=images(data.images))
    with pytest.raises(ValueError, match=message):
        course.StarLikelihood(images(data.images), data.psf, data.background)


def test_true_fluxes_must_match_images(data):
    with pytest.raises(ValueError, match=r"true_fluxes must have shape \(n,\)"):
        dataclasses.replace(data, true_fluxes=data.true_fluxes[:3])


def test_flux_rmse_shapes(data):
    with pytest.raises(ValueError, match="estimate must be a scalar or have the shape of true_fluxes"):
        course.flux_rmse(data.true_fluxes, data.true_fluxes[:3])
    assert course.flux_rmse(data.true_fluxes, data.true_fluxes) == 0
