"""Variational inference with a Gaussian q over several latents: mean-field (a diagonal covariance) or
full-rank (a Cholesky factor), fitted by the reparameterisation trick. Equations are numbered as in the notebook
vi_two_stars.

    q(f) = Normal(f; m, L L^T),        f = m + L eps,   eps ~ Normal(0, I_d)
    -ELBO(m, L) = -E_eps[ log p(x, m + L eps) ] - H[q],   H[q] = sum_j log |L_jj| + d/2 log(2 pi e)     (2)

Mean-field restricts L to a diagonal. Minimising (2) is minimising KL[q || p(f | x)]; how a mean-field q then
under-states the variances of correlated latents is in Blei, Kucukelbir & McAuliffe (2017, section 2.3) and
Bishop (2006, section 10.1.2).

Fluxes are optimised in units of the prior (z = (f - mu) / sigma), so every parameter is of order 1.
"""
import math
from dataclasses import dataclass

import torch

from ._runtime import check_int, check_positive, engine_state, make_generator

FAMILIES = ("mean_field", "full_rank")


@dataclass(frozen=True)
class GaussianQ:
    """q(f) = Normal(mean, scale_tril scale_tril^T) for each of n images: mean (n, d), scale_tril (n, d, d)."""

    mean: torch.Tensor
    scale_tril: torch.Tensor

    @classmethod
    def from_normal(cls, q_mean, q_sd):
        """The one-latent q of the lab, Normal(q_mean, q_sd^2) for each image ((n,) each), as a GaussianQ (d = 1)."""
        q_mean, q_sd = (torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (q_mean, q_sd))
        return cls(q_mean.unsqueeze(-1), q_sd.reshape(-1, 1, 1))

    @property
    def sd(self):
        """(n, d) q's marginal SDs."""
        return self.scale_tril.square().sum(-1).sqrt()

    @property
    def cov(self):
        """(n, d, d) q's covariance L L^T."""
        return self.scale_tril @ self.scale_tril.transpose(-1, -2)

    def transform(self, eps):
        """f = mean + L eps for standard-normal draws eps (n, S, d) -> (n, S, d)."""
        return self.mean.unsqueeze(1) + eps @ self.scale_tril.transpose(-1, -2)

    def log_prob(self, f):
        """log q(f) for f (n, S, d) -> (n, S)."""
        eps = torch.linalg.solve_triangular(self.scale_tril.unsqueeze(1), (f - self.mean.unsqueeze(1)).unsqueeze(-1),
                                            upper=False).squeeze(-1)  # (n, S, d)
        d = self.mean.shape[-1]
        log_det = self.scale_tril.diagonal(dim1=-2, dim2=-1).abs().log().sum(-1)  # (n,)
        return -0.5 * eps.square().sum(-1) - log_det.unsqueeze(1) - d / 2 * math.log(2 * math.pi)

    def entropy(self):
        """H[q], (n,): equation (2)'s second term."""
        d = self.mean.shape[-1]
        return self.scale_tril.diagonal(dim1=-2, dim2=-1).abs().log().sum(-1) + d / 2 * math.log(2 * math.pi * math.e)


@dataclass(frozen=True)
class GaussianVIResult:
    """q: the fitted GaussianQ, in flux units; neg_elbo: (n,) equation (2) at q, from `score_draws` fresh draws;
    history: (steps,) the mean over images of each step's Monte Carlo -ELBO."""

    q: GaussianQ
    neg_elbo: torch.Tensor
    history: torch.Tensor


def fit_gaussian_vi(log_joint, prior, n, d=2, family="full_rank", lr=0.05, iterations=2000, num_samples=32,
                    seed=0, score_draws=4096):
    """Fit q by minimising (2) with Adam, the reparameterisation trick and `num_samples` draws a step.

    log_joint: a callable taking fluxes (n, S, d) to log p(x_i, f) (n, S), e.g. `TwoStarLogJoint(data)`;
    prior: the Normal flux prior (its mean and SD set the units of optimisation, and q starts at it);
    family: "mean_field" or "full_rank". The learning rate decays linearly to 1% of `lr`, which averages the
    last steps' noise away. Draws come from a private generator seeded with `seed`.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    n, d = check_int("n", n, 1), check_int("d", d, 1)
    iterations, num_samples = check_int("iterations", iterations, 1), check_int("num_samples", num_samples, 1)
    lr = check_positive("lr", lr)
    rng = make_generator(seed, "cpu")
    loc, scale = float(prior.loc), float(prior.scale)
    with engine_state(grad=True):
        z_mean = torch.zeros(n, d, dtype=torch.float64, requires_grad=True)  # (n, d) in prior units
        log_diag = torch.zeros(n, d, dtype=torch.float64, requires_grad=True)  # (n, d): log L_jj
        lower = torch.zeros(n, d, d, dtype=torch.float64, requires_grad=family == "full_rank")  # below the diagonal
        mask = torch.ones(d, d, dtype=torch.float64).tril(-1)  # (d, d)
        params = [z_mean, log_diag] + ([lower] if family == "full_rank" else [])
        optimizer = torch.optim.Adam(params, lr=lr)
        schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.01, total_iters=iterations)

        def q():
            tril = torch.diag_embed(log_diag.exp()) + lower * mask  # (n, d, d)
            return GaussianQ(loc + scale * z_mean, scale * tril)

        history = torch.empty(iterations, dtype=torch.float64)
        for step in range(iterations):
            current = q()
            eps = torch.randn(n, num_samples, d, generator=rng, dtype=torch.float64)  # (n, S, d)
            loss = -log_joint(current.transform(eps)).mean(1) - current.entropy()  # (n,)
            optimizer.zero_grad()
            loss.sum().backward()  # images are independent: one sum, n separate gradients
            optimizer.step()
            schedule.step()
            history[step] = loss.detach().mean()
    with engine_state(grad=False):
        fitted = q()
        fitted = GaussianQ(fitted.mean.detach(), fitted.scale_tril.detach())
        eps = torch.randn(n, score_draws, d, generator=rng, dtype=torch.float64)
        neg_elbo = -log_joint(fitted.transform(eps)).mean(1) - fitted.entropy()
    return GaussianVIResult(fitted, neg_elbo, history)
