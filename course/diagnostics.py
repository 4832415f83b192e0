"""Checks of a fitted q that need no grid: importance weights, the importance-weighted bound and PSIS k-hat.

With draws f_k ~ q and log importance weights log w_k = log p(x, f_k) - log q(f_k), and equations numbered as in
the notebook vi_two_stars,

    IW_K = E[ log (1/K) sum_{k<=K} w_k ]  <=  log p(x),                                            (3)

the importance-weighted bound (Burda, Grosse & Salakhutdinov 2016): IW_1 is the ELBO, and IW_K rises with K
towards log p(x) when q covers the posterior. How fast it rises depends on the weights' tail, and PSIS
(Pareto-smoothed importance sampling; Yao, Vehtari, Simpson & Gelman 2018; Vehtari et al. 2024) measures that
tail: it fits a generalised Pareto distribution to the largest weights, and its shape k-hat says whether
importance sampling from q can be trusted (k-hat < 0.7) or not. k-hat comes from ArviZ's `psislw`.
"""
import math
import warnings

import numpy as np
import torch

from ._runtime import check_int, make_generator
from .likelihood import StarLikelihood, flux_log_prior

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # ArviZ announces its 1.0 refactor on import
    import arviz

KHAT_THRESHOLD = 0.7  # Vehtari et al. (2024): above it, importance sampling from q is not reliable


def star_log_joint(data):
    """log p(x_i, f) of the lab's one-star images `data` as a callable on fluxes (n, S, 1) -> (n, S), the
    shape `log_weights` takes (one latent per image)."""
    likelihood = StarLikelihood(data.images, data.psf, data.background)
    return lambda f: likelihood(f.squeeze(-1)) + flux_log_prior(f.squeeze(-1), data.prior)


def log_weights(log_joint, q, num_draws, seed=0):
    """log w = log p(x_i, f) - log q(f) for `num_draws` draws f ~ q of each image: (n, num_draws) float64.

    q: a `GaussianQ` (d latents per image); log_joint: fluxes (n, S, d) -> (n, S). Draws come from a private
    generator seeded with `seed`.
    """
    num_draws = check_int("num_draws", num_draws, 1)
    rng = make_generator(seed, "cpu")
    n, d = q.mean.shape
    eps = torch.randn(n, num_draws, d, generator=rng, dtype=torch.float64)  # (n, S, d)
    f = q.transform(eps)  # (n, S, d)
    return log_joint(f) - q.log_prob(f)


def iw_bound(log_w, K):
    """Equation (3) estimated from (n, S) log weights: the S draws are cut into S // K groups of K, and the
    bound is the mean over groups of logsumexp(group) - log K. Returns (n,) float64."""
    K = check_int("K", K, 1)
    n, S = log_w.shape
    if K > S:
        raise ValueError(f"K must be at most the number of draws ({S}), got {K}")
    groups = log_w[:, : S // K * K].reshape(n, S // K, K)  # (n, S // K, K)
    return (groups.logsumexp(-1) - math.log(K)).mean(-1)


def psis_khat(log_w):
    """PSIS k-hat of each row of (n, S) log weights, from `arviz.psislw`: (n,) float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # psislw warns of the very k-hats we are measuring
        log_w = log_w - log_w.max(-1, keepdim=True).values  # k-hat is scale-free; psislw exponentiates
        _, khat = arviz.psislw(np.asarray(log_w, dtype=np.float64))
    return torch.as_tensor(np.asarray(khat), dtype=torch.float64).reshape(log_w.shape[:-1])
