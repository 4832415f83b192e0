"""The evidence log p(x_i) from the grid, and the ELBO of a given q computed accurately, to measure the gaps.

    log p(x_i) = log int p(x_i | f) p(f) df  ~  log sum_g exp(log p(x_i, f_g)) + log(bin_width)     (7)

the grid's Riemann sum (grid.py), now with its bin width, since the normaliser itself is wanted. And

    ELBO(q_i) = E_q[log p(x_i | f)] + E_q[log p(f)] + H[q_i],                                       (8)
    log p(x_i) - ELBO(q_i) = KL[q_i || p(f | x_i)] >= 0,                                            (9)

so the ELBO of the best q in a family falls short of the evidence by the *approximation gap*, and an
encoder's q, which must serve every image at once, falls short of per-image VI's by the *amortization gap*
(Cremer, Li & Duvenaud 2018, "Inference suboptimality in variational autoencoders", ICML).

(8) is computed without Monte Carlo noise: the entropy and, for a Normal prior, E_q[log p(f)] in closed
form; E_q[log p(x_i | f)] (and E_q[log p(f)] under a Pareto prior) by Gauss-Hermite quadrature in the
Normal variable of q, exact for polynomials of degree < 2 * nodes and accurate to ~1e-8 nats here (the rounding of float64 sums of size 4e7), where
log p(x | f) is smooth and nearly quadratic over q's range (tests/test_evidence.py checks against a fine sum).
"""
import math

import torch

from ._runtime import check_int, engine_state
from .likelihood import StarLikelihood, flux_log_prior
from .vi import support_shift


def log_evidence(posterior):
    """(7): log p(x_i) for every image, (n,) float64, from a GridPosterior (course.grid_posterior).

    Accurate when the grid covers the posterior with bins much narrower than its SD (the lab's grid: bins of
    100 against SDs of ~1,650); with a Pareto prior the integrand jumps at x_m, and the sum is then good
    to about bin_width / (2 SD) in relative terms (~0.03 nats).
    """
    grid = posterior.grid  # (G,)
    if grid.numel() < 2:
        raise ValueError("posterior must be on a grid of at least 2 points: its bin width enters (7)")
    bin_width = float(grid[1] - grid[0])
    return posterior.log_joint.logsumexp(1) + math.log(bin_width)  # (n,)


def gauss_hermite(nodes):
    """Nodes t_j and weights w_j with sum_j w_j h(t_j) ~ int exp(-t^2) h(t) dt, (nodes,) float64 each.

    Golub-Welsch: the nodes are the eigenvalues of the symmetric tridiagonal Jacobi matrix of the Hermite
    polynomials (off-diagonal sqrt(k / 2), k = 1 .. nodes - 1), and w_j = sqrt(pi) v_0j^2, with v_j its
    normalised eigenvectors. So E_{N(m, s^2)}[h(f)] ~ sum_j w_j h(m + sqrt(2) s t_j) / sqrt(pi).
    """
    nodes = check_int("nodes", nodes, 1)
    off = torch.arange(1, nodes, dtype=torch.float64).div(2).sqrt()  # (nodes - 1,)
    jacobi = torch.diag(off, 1) + torch.diag(off, -1)  # (nodes, nodes)
    t, v = torch.linalg.eigh(jacobi)  # ascending nodes; eigenvectors in the columns
    return t, math.sqrt(math.pi) * v[0].square()


def elbo(data, q_mean, q_sd, shift=None, nodes=64):
    """(8) for every image, (n,) float64, without Monte Carlo noise (see the module docstring).

    q_mean, q_sd: (n,) q of each image: a Normal q(f) = N(q_mean, q_sd^2); or, with `shift` (a Pareto prior's
                  x_m), the shifted LogNormal f = shift + exp(z), z ~ N(q_mean, q_sd^2) of course.vi, whose
                  entropy is H[z] + E[z] = log(q_sd sqrt(2 pi e)) + q_mean (the Jacobian of f = shift + e^z).
    A Normal q under a Pareto prior gets -inf: it puts mass where p(f) = 0, so E_q[log p(f)] = -inf.
    """
    q_mean = torch.as_tensor(q_mean, dtype=torch.float64)
    q_sd = torch.as_tensor(q_sd, dtype=torch.float64)
    if q_mean.shape != (data.n,) or q_sd.shape != (data.n,):
        raise ValueError(f"q_mean and q_sd must have shape (n,) = ({data.n},), got {tuple(q_mean.shape)} and "
                         f"{tuple(q_sd.shape)}")
    if not (q_sd > 0).all():
        raise ValueError("q_sd must be > 0 for every image")
    if shift is None and support_shift(data.prior) is not None:
        return torch.full((data.n,), -math.inf, dtype=torch.float64)
    with engine_state(grad=False):
        t, w = gauss_hermite(nodes)  # (J,), (J,)
        w = w / math.sqrt(math.pi)
        z = q_mean.unsqueeze(1) + math.sqrt(2) * q_sd.unsqueeze(1) * t  # (n, J): the quadrature nodes in z
        f = z if shift is None else shift + z.exp()  # (n, J)
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        expected_log_lik = likelihood(f) @ w  # (n,)
        entropy = q_sd.log() + 0.5 * math.log(2 * math.pi * math.e)  # (n,): H[z]
        if shift is None:
            mu, sigma = float(data.prior.loc), float(data.prior.scale)
            expected_log_prior = (-math.log(sigma) - 0.5 * math.log(2 * math.pi)
                                  - ((q_mean - mu).square() + q_sd.square()) / (2 * sigma ** 2))  # (n,)
        else:
            expected_log_prior = flux_log_prior(f, data.prior) @ w  # (n,)
            entropy = entropy + q_mean
    return expected_log_lik + expected_log_prior + entropy

