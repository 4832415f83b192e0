"""Two unbiased estimators of the ELBO's gradient in the parameters (q_mean, q_sd) of a Normal q(f) = N(m, s^2).

With log p(x, f) = log p(x | f) + log p(f), and one draw f = m + s eps, eps ~ N(0, 1), per estimate:

Score function (REINFORCE; Williams 1992; Ranganath, Gerrish & Blei 2014), from
grad E_q[w(f)] = E_q[w(f) grad log q(f)] with the scores d/dm log q = eps / s, d/ds log q = (eps^2 - 1) / s:

    sampled entropy:   (log p(x, f) - log q(f) - b) * (eps / s, (eps^2 - 1) / s)                        (10)
    analytic entropy:  (log p(x, f) - b) * (eps / s, (eps^2 - 1) / s) + (0, 1 / s)

Reparameterisation (Kingma & Welling 2014), differentiating through f = m + s eps, df/dm = 1, df/ds = eps:

    sampled entropy:   (d/df log p(x, f) - d/df log q(f)) * (1, eps)                                    (11)
    analytic entropy:  d/df log p(x, f) * (1, eps) + (0, 1 / s)

H[q] = log(s sqrt(2 pi e)) has gradient (0, 1 / s); the analytic forms use it instead of a sampled -log q(f).
"Sampled" in (11) is the path derivative of -log q, through f only: d/df log q(f) = -eps / s; the derivative of
log q in its parameters (m, s) is left out (Roeder, Wu & Duvenaud 2017).

b, the baseline, is a number (or one per image) subtracted from the weight of (10); b = 0 is the plain estimator.
"""
import torch

from ._runtime import check_int, engine_state, make_generator
from .likelihood import StarLikelihood, flux_log_prior, flux_prior_score, normal_log_prob
from .vi import support_shift

ESTIMATORS = ("score", "reparam")
ENTROPY = ("sampled", "analytic")


def score_function_gradient(eps, q_mean, q_sd, prior, likelihood, entropy="analytic", baseline=0.0):
    """(10): one estimate of d ELBO / d(q_mean, q_sd) per column of eps: ((n, R), (n, R)) float64.

    eps: (n, R) standard Normal draws; q_mean, q_sd: (n,); prior: the data's Normal flux prior;
    likelihood: a StarLikelihood of the n images; baseline: a number or an (n,) tensor, subtracted from the weight.
    """
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (n, 1)
    f = m + s * eps  # (n, R)
    weight = likelihood(f) + flux_log_prior(f, prior)  # (n, R): log p(x, f)
    if entropy == "sampled":
        weight = weight - normal_log_prob(f, m, s)
    weight = weight - torch.as_tensor(baseline, dtype=torch.float64).reshape(-1, 1)
    d_mean, d_sd = weight * eps / s, weight * (eps.square() - 1) / s  # (n, R) each
    return d_mean, d_sd + (1 / s if entropy == "analytic" else 0.0)


def reparam_gradient(eps, q_mean, q_sd, prior, likelihood, entropy="analytic"):
    """(11): one estimate of d ELBO / d(q_mean, q_sd) per column of eps: ((n, R), (n, R)) float64."""
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)  # (n, 1)
    f = m + s * eps  # (n, R)
    slope = likelihood.flux_gradient(f) + flux_prior_score(f, prior)  # (n, R): d/df log p(x, f)
    if entropy == "sampled":
        slope = slope + eps / s  # - d/df log q(f) = (f - m) / s^2 = eps / s
        return slope, slope * eps
    return slope, slope * eps + 1 / s


def gradient_draws(data, q_mean, q_sd, estimator="reparam", entropy="analytic", baseline=0.0, num_draws=1000,
                   seed=0):
    """`num_draws` independent one-draw estimates of d ELBO / d(q_mean, q_sd) for every image, by (10) or (11).

    Returns (d_mean, d_sd), each (n, num_draws) float64; their mean over draws estimates the gradient and
    their variance over draws is the variance of one estimate (divide by S for an average of S draws).
    The draws come from a generator seeded with `seed`, the same for both estimators, so that they differ
    only by the estimator. Normal prior only: under a Pareto prior a Normal q has ELBO -inf (course.vi).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if entropy not in ENTROPY:
        raise ValueError(f"entropy must be one of {ENTROPY}, got {entropy!r}")
    if support_shift(data.prior) is not None:
        raise ValueError("data must have the Normal prior: under a Pareto prior a Normal q has ELBO -inf")
    num_draws = check_int("num_draws", num_draws, 1)
    q_mean = torch.as_tensor(q_mean, dtype=torch.float64)
    q_sd = torch.as_tensor(q_sd, dtype=torch.float64)
    if q_mean.shape != (data.n,) or q_sd.shape != (data.n,) or not (q_sd > 0).all():
        raise ValueError(f"q_mean and q_sd must have shape (n,) = ({data.n},), with q_sd > 0")
    rng = make_generator(seed, "cpu")
    with engine_state(grad=False):
        eps = torch.randn(data.n, num_draws, generator=rng, dtype=torch.float64)  # (n, R)
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        if estimator == "score":
            return score_function_gradient(eps, q_mean, q_sd, data.prior, likelihood, entropy, baseline)
        return reparam_gradient(eps, q_mean, q_sd, data.prior, likelihood, entropy)

