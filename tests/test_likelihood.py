import torch
from torch.distributions import Normal, Poisson

import course
from course.likelihood import StarLikelihood, normal_log_prob


def poisson_reference(data, flux):
    """sum_p Poisson(b + f psf_p).log_prob(x_p) in float64 for (n, S) fluxes -> (n, S)."""
    rate = data.background + data.psf.double().reshape(1, -1, 1) * flux.unsqueeze(1)  # (n, P, S)
    x = data.images.double().reshape(data.n, -1, 1)  # (n, P, 1)
    return Poisson(rate).log_prob(x).sum(1)


def test_matches_poisson_log_prob_per_image_and_sample(data):
    flux = torch.linspace(20000, 120000, 64, dtype=torch.float64).repeat(data.n, 1)  # (n, S)
    ours = StarLikelihood(data.images, data.psf, data.background)(flux)
    ref = poisson_reference(data, flux)
    assert ours.shape == (data.n, 64)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=0)


def test_grid_form_equals_per_image_form(data):
    lik = StarLikelihood(data.images, data.psf, data.background)
    grid = torch.linspace(1000, 200000, 300, dtype=torch.float64)
    torch.testing.assert_close(lik(grid), lik(grid.repeat(data.n, 1)), rtol=1e-9, atol=0)


def test_rows_select_images(data):
    lik = StarLikelihood(data.images, data.psf, data.background)
    flux = torch.full((3, 5), 64000.0, dtype=torch.float64)
    rows = torch.tensor([4, 4, 9])
    torch.testing.assert_close(lik(flux, rows), lik(torch.full((data.n, 5), 64000.0, dtype=torch.float64))[rows])


def test_works_for_a_psf_without_repeated_values():
    psf = torch.rand(5, 5, generator=torch.Generator().manual_seed(0))
    psf = psf / psf.sum()
    images = torch.poisson(torch.full((4, 5, 5), 300.0), generator=torch.Generator().manual_seed(1))
    data = course.StarData(psf, Normal(torch.tensor(3000.0), torch.tensor(500.0)), 100.0, torch.ones(4), images)
    flux = torch.linspace(10, 5000, 8, dtype=torch.float64).repeat(4, 1)
    ours = StarLikelihood(images, psf, 100.0)(flux)
    torch.testing.assert_close(ours, poisson_reference(data, flux), rtol=1e-9, atol=0)


def test_flux_gradient_is_the_derivative_of_the_likelihood(data):
    lik = StarLikelihood(data.images, data.psf, data.background)
    flux = torch.linspace(-5000, 120000, 40, dtype=torch.float64).repeat(data.n, 1).requires_grad_()
    lik(flux).sum().backward()
    torch.testing.assert_close(lik.flux_gradient(flux.detach()), flux.grad, rtol=1e-9, atol=1e-12)


def test_normal_log_prob_matches_torch_distributions():
    x = torch.linspace(-3, 5, 11, dtype=torch.float64)
    torch.testing.assert_close(normal_log_prob(x, 1.0, 2.0), Normal(1.0, 2.0).log_prob(x).double())


def test_with_images_equals_a_new_likelihood(data):
    """The tables reused for other images give what building the likelihood from scratch gives."""
    other = course.simulate(n=5, seed=3)
    lik = StarLikelihood(data.images, data.psf, data.background)
    reused, fresh = lik.with_images(other.images), StarLikelihood(other.images, other.psf, other.background)
    flux = torch.linspace(30000, 90000, 7, dtype=torch.float64).repeat(5, 1)  # (5, 7)
    torch.testing.assert_close(reused(flux), fresh(flux), rtol=0, atol=0)
    torch.testing.assert_close(reused(flux), poisson_reference(other, flux), rtol=1e-9, atol=0)
    torch.testing.assert_close(reused.flux_gradient(flux), fresh.flux_gradient(flux), rtol=0, atol=0)
    assert lik.counts.shape == (data.n, 30)  # untouched; and the lab's PSF has 30 distinct values
