"""course: the engine of the lab "Modern variational inference for images of stars".

Simulate star images, then infer each star's flux three ways: a posterior on a grid,
per-image variational inference, and amortized variational inference with an encoder.
"""
from .amortized import AmortizedResult, StarEncoder, draw_images, fit_amortized, interval_coverage
from .grid import GridPosterior, flux_grid, grid_posterior
from .likelihood import StarLikelihood, normal_log_prob
from .metrics import flux_rmse, prior_mean_estimate, sky_subtracted_flux
from .model import StarData, make_psf, simulate
from .training import History, LogRecord
from .vi import VIResult, fit_vi, neg_elbo

__all__ = [
    "AmortizedResult", "GridPosterior", "History", "LogRecord", "StarData", "StarEncoder", "StarLikelihood",
    "VIResult", "draw_images", "fit_amortized", "fit_vi", "flux_grid", "flux_rmse", "grid_posterior",
    "interval_coverage", "make_psf", "neg_elbo", "normal_log_prob", "prior_mean_estimate", "simulate",
    "sky_subtracted_flux",
]
