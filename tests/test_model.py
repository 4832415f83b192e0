import torch

import course
from benchmarks.lab_formulation import lab_simulate
from course.model import draw_counts


def test_seed_0_draws_exactly_the_labs_data(data):
    psf, prior, background, true_fluxes, images = lab_simulate(n=16, seed=0)
    assert torch.equal(data.psf, psf)
    assert torch.equal(data.true_fluxes, true_fluxes)
    assert torch.equal(data.images, images)
    assert data.background == background
    assert float(data.prior.loc) == float(prior.loc) == 64000
    assert float(data.prior.scale) == float(prior.scale) == 12800


def test_other_sizes_and_seeds_match_the_labs_code_too():
    for n, img_dim, seed in [(3, 5, 7), (40, 15, 1)]:
        ours = course.simulate(n=n, img_dim=img_dim, seed=seed)
        psf, _, _, true_fluxes, images = lab_simulate(n=n, img_dim=img_dim, seed=seed)
        assert torch.equal(ours.psf, psf) and torch.equal(ours.true_fluxes, true_fluxes)
        assert torch.equal(ours.images, images)


def test_psf_is_a_normalised_triangular_outer_product():
    psf = course.make_psf(7)
    marginal = torch.tensor([1, 2, 3, 4, 3, 2, 1.0])
    assert torch.allclose(psf, torch.outer(marginal, marginal) / 256)
    assert torch.isclose(psf.sum(), torch.tensor(1.0))


def test_same_seed_same_data_and_different_seed_different_data(data):
    again = course.simulate(seed=0)
    assert torch.equal(again.images, data.images) and torch.equal(again.true_fluxes, data.true_fluxes)
    other = course.simulate(seed=1)
    assert not torch.equal(other.images, data.images)
    assert not torch.equal(other.true_fluxes, data.true_fluxes)


def test_simulate_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    course.simulate(seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_reference_figures_of_the_lab(data):
    """The seed-0 figures the original lab prints (README of the seed)."""
    sky = course.sky_subtracted_flux(data)
    assert round(course.flux_rmse(data.true_fluxes, course.prior_mean_estimate(data))) == 11710
    assert round(course.flux_rmse(data.true_fluxes, sky)) == 1745
    assert round(float(data.true_fluxes.mean())) == 62473
    assert round(float(data.true_fluxes.std())) == 11991


def test_draw_counts_is_a_poisson_draw_per_pixel_and_a_negative_flux_gives_no_light():
    psf = course.make_psf(5)
    fluxes = torch.tensor([3000.0, 0.0, -500.0], dtype=torch.float64)
    ours = draw_counts(fluxes, psf.double(), 40.0, torch.Generator().manual_seed(9))  # (3, 5, 5)
    rng = torch.Generator().manual_seed(9)
    rates = [[[40.0 + max(float(f), 0.0) * float(psf[r, c]) for c in range(5)] for r in range(5)] for f in fluxes]
    plain = torch.poisson(torch.tensor(rates, dtype=torch.float64), generator=rng)  # the same pixels, in the same order
    assert torch.equal(ours, plain)
    assert ours.shape == (3, 5, 5) and ours.dtype == torch.float64
