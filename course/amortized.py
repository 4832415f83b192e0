"""Amortized variational inference: one encoder network maps any image to its q(f | x) = N(q_mean, q_sd^2).

Instead of n separate optimisations, the encoder's weights are fitted once, on minibatches, to
minimise the same negative ELBO (3) of course.vi; inference for a new image is then one forward pass.
"""
from dataclasses import dataclass

import torch
from torch import nn

from ._runtime import check_int, engine_state, make_generator, resolve_device
from .likelihood import StarLikelihood
from .metrics import flux_rmse
from .model import check_images
from .training import History, check_options, optimise
from .vi import flux_moments, neg_elbo, neg_elbo_grad, shifted_lognormal_parameters, support_shift


class StarEncoder(nn.Module):
    """The lab's encoder: image counts -> (q_mean, q_sd) by a two-hidden-layer ReLU network.

    With batch_norm=True the second hidden layer is batch-normalised. Its BatchNorm always uses the
    statistics of the batch it is given (track_running_stats=False), in training and in scoring alike:
    the network is trained on batch statistics, and the running averages that eval mode would use
    instead give an RMSE of 5,900-17,000 on the lab's data instead of ~1,400. The price is that a
    posterior depends on the batch it is computed in; score the whole data set in one batch.
    """

    def __init__(self, img_dim=15, hidden_width=64, batch_norm=True):
        super().__init__()
        self.img_dim = check_int("img_dim", img_dim, 3)
        hidden_width = check_int("hidden_width", hidden_width, 1)
        self.batch_norm = bool(batch_norm)
        norm = [nn.BatchNorm1d(hidden_width, track_running_stats=False)] if batch_norm else []
        self.net = nn.Sequential(
            nn.Linear(img_dim * img_dim, hidden_width),
            nn.ReLU(),
            nn.Linear(hidden_width, hidden_width),
            *norm,
            nn.ReLU(),
            nn.Linear(hidden_width, 2),
        )

    def forward(self, images):
        """(m, img_dim, img_dim) counts -> q_mean (m,), q_sd (m,); q_sd = exp(clamp(out, -6, 6)) stays positive and finite."""
        out = self.net(images.reshape(-1, self.img_dim * self.img_dim))  # (m, 2)
        return out[:, 0], out[:, 1].clamp(-6, 6).exp()


def encoder_posterior(encoder, images):
    """(q_mean, q_sd), each (m,) float64: the encoder's q for (m, img_dim, img_dim) images, scored in one batch."""
    check_images(images, torch.empty(encoder.img_dim, encoder.img_dim))
    if encoder.batch_norm and images.shape[0] < 2:
        raise ValueError("images must hold at least 2 images: the encoder's BatchNorm scores with batch statistics")
    device = next(encoder.parameters()).device
    with engine_state(grad=False):
        q_mean, q_sd = encoder(images.to(device=device, dtype=torch.float32))
    return q_mean.double(), q_sd.double()


@dataclass(frozen=True)
class AmortizedResult:
    """The trained `encoder` and its `history`; `posterior(images)` gives q for any images."""

    encoder: StarEncoder
    history: History
    images: torch.Tensor
    shift: float = None  # a Pareto prior's x_m: q is then the shifted LogNormal of course.vi, (6)

    @property
    def diverged(self):
        return self.history.diverged

    def posterior(self, images=None):
        """(q_mean, q_sd), each (m,) float64, for `images` (m, img_dim, img_dim); the training images by default.

        Scored in one batch (see StarEncoder on BatchNorm), so with batch_norm at least 2 images are needed.
        Under a Pareto prior these are the mean and SD of f under the shifted LogNormal q (course.vi, (6)).
        """
        if self.shift is None:
            return encoder_posterior(self.encoder, self.images if images is None else images)
        return flux_moments(*self.q_parameters(images), self.shift)

    def q_parameters(self, images=None):
        """(q_loc, q_scale) of log(f - shift) for the shifted LogNormal q (Pareto prior); (q_mean, q_sd) otherwise."""
        q_mean, q_sd = encoder_posterior(self.encoder, self.images if images is None else images)
        return (q_mean, q_sd) if self.shift is None else shifted_lognormal_parameters(q_mean, q_sd, self.shift)

    @property
    def q_mean(self):
        return self.posterior()[0]

    @property
    def q_sd(self):
        return self.posterior()[1]


def fit_amortized(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=30000, minibatch=8,
                  num_samples=64, seed=0, callback=None, progress=False, log_every=500, device=None):
    """Train a StarEncoder on `data` by SGD on the negative ELBO (3), as the lab does.

    Each step draws `minibatch` images with replacement and `num_samples` reparameterised fluxes
    per image; the loss is (3) summed over them, its gradient (5) is carried back through the
    encoder, and the logged objective rescales it to the whole data set (x n / (minibatch * num_samples)). The weights are initialised, and the
    minibatches and eps drawn, from `seed`; the global RNG is left as it was. Under a Pareto prior the
    encoder still outputs a flux mean and SD, and q is the shifted LogNormal of course.vi with those moments.
    """
    lr, iterations, num_samples, log_every = check_options(lr, iterations, num_samples, log_every)
    minibatch = check_int("minibatch", minibatch, 2 if batch_norm else 1)
    device = resolve_device(device)
    data = data.to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = StarEncoder(data.img_dim, hidden_width, batch_norm).to(device)
    rng = make_generator(seed, device)
    shift = support_shift(data.prior)  # None for the lab's Normal prior
    images = data.images.to(torch.float32)
    scale = data.n / (minibatch * num_samples)  # the logged objective is the whole data set's
    with engine_state(grad=True):
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        optimizer = torch.optim.SGD(encoder.parameters(), lr=lr)

        def step(with_value):
            rows = torch.randint(data.n, (minibatch,), generator=rng, device=device)  # (mb,)
            q_mean, q_sd = encoder(images[rows])  # (mb,), (mb,)
            if shift is not None:  # the encoder speaks in fluxes; q is the shifted LogNormal with those moments
                q_mean, q_sd = shifted_lognormal_parameters(q_mean, q_sd, shift)
            eps = torch.randn(num_samples, minibatch, generator=rng, dtype=torch.float64, device=device).T  # (mb, S)
            q = (q_mean.detach(), q_sd.detach(), eps, data.prior, likelihood, rows)
            value = neg_elbo(*q, shift=shift).item() * scale if with_value else None
            d_mean, d_sd = neg_elbo_grad(*q, shift=shift)  # (5), then back through the encoder
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward((q_mean, q_sd), (d_mean.to(q_mean.dtype), d_sd.to(q_sd.dtype)))
            optimizer.step()
            return value

        def rmse():
            q_mean, q_sd = encoder_posterior(encoder, data.images)
            return flux_rmse(data.true_fluxes, q_mean if shift is None else
                             flux_moments(*shifted_lognormal_parameters(q_mean, q_sd, shift), shift)[0])

        history = optimise(step, iterations, log_every, rmse, callback=callback, progress=progress, desc="amortized VI")
    return AmortizedResult(encoder, history, data.images, shift)
