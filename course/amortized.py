"""Amortized variational inference: one encoder network maps any image to its q(f | x) = N(q_mean, q_sd^2).

Instead of n separate optimisations, the encoder's weights are fitted once, on minibatches, to
minimise the same negative ELBO (3) of course.vi; inference for a new image is then one forward pass.

Two designs share one StarEncoder and one fit_amortized, chosen by options:

* the lab's (`standardized=False, batch_norm=True`, SGD on the 16 images): raw counts in, raw flux
  units out, log q_sd clamped to [-6, 6], and a BatchNorm that uses the statistics of the batch;
* the standardized one (`standardized=True, batch_norm=False`, Adam, `fresh_images=True`): counts
  in units of the sky's Poisson SD, outputs in units of the prior (13), no batch statistics, and
  trained on new images drawn from the model at every step, so that it sees the whole prior rather
  than memorising 16 images.
"""
from dataclasses import dataclass

import torch
from torch import nn

from ._runtime import check_int, check_positive, engine_state, make_generator, resolve_device
from .likelihood import StarLikelihood
from .metrics import flux_rmse
from .model import check_images, draw_counts
from .training import History, check_options, optimise
from .vi import flux_moments, neg_elbo, neg_elbo_grad, scoring_draws, shifted_lognormal_parameters, support_shift

LOG_SD_BOUND = 5.0  # standardized design: |log(q_sd / prior SD)| < 5, i.e. q_sd within e^{+-5} prior SDs
OPTIMIZERS = ("sgd", "adam")


class StarEncoder(nn.Module):
    """Image counts -> (q_mean, q_sd) by a two-hidden-layer ReLU network, in one of two designs.

    standardized=None (the lab's design): the network reads raw counts and its outputs are q_mean in
    flux units and log q_sd, clamped to [-6, 6] before exp.

    standardized=(background, flux_mean, flux_sd): the model's scales, so that every number the
    network sees or makes is of order one. With out = net(x_std), x_std = (x - b) / sqrt(b),

        q_mean = flux_mean + flux_sd * out_0,
        q_sd   = flux_sd * exp(B tanh(out_1 / B)),     B = LOG_SD_BOUND,                      (13)

    so an untrained network starts at the prior, and log(q_sd / flux_sd) lies in (-B, B).

    batch_norm=True batch-normalises the second hidden layer with the statistics of the batch it is
    given (track_running_stats=False), in training and in scoring alike, as the lab trains and scores it; the
    module keeps no running averages for PyTorch's eval mode to switch to. One image alone cannot be scored.
    """

    def __init__(self, img_dim=15, hidden_width=64, batch_norm=True, standardized=None):
        super().__init__()
        self.img_dim = check_int("img_dim", img_dim, 3)
        hidden_width = check_int("hidden_width", hidden_width, 1)
        self.batch_norm = bool(batch_norm)
        self.standardized = standardized is not None
        if self.standardized:
            try:
                background, flux_mean, flux_sd = (float(v) for v in standardized)
            except (TypeError, ValueError) as err:
                raise ValueError("standardized must be None or (background, flux_mean, flux_sd), "
                                 f"got {standardized!r}") from err
            for name, value in (("background", background), ("flux_sd", flux_sd)):
                check_positive(f"standardized's {name}", value)
            # buffers: saved with the weights and moved with .to(device)
            self.register_buffer("background", torch.tensor(background))
            self.register_buffer("flux_mean", torch.tensor(flux_mean))
            self.register_buffer("flux_sd", torch.tensor(flux_sd))
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
        """(m, img_dim, img_dim) counts -> q_mean (m,), q_sd (m,), by the design chosen at construction."""
        x = images.reshape(-1, self.img_dim * self.img_dim)  # (m, P)
        if not self.standardized:
            out = self.net(x)  # (m, 2)
            return out[:, 0], out[:, 1].clamp(-6, 6).exp()
        # the sky's Poisson SD: a pixel without starlight becomes noise of SD ~1
        out = self.net((x - self.background) * self.background.rsqrt())  # (m, 2)
        log_sd_ratio = LOG_SD_BOUND * torch.tanh(out[:, 1] / LOG_SD_BOUND)  # (m,) in (-B, B)
        return self.flux_mean + self.flux_sd * out[:, 0], self.flux_sd * log_sd_ratio.exp()


def encoder_posterior(encoder, images):
    """(q_mean, q_sd), each (m,) float64: the encoder's q for (m, img_dim, img_dim) images, scored in one batch."""
    check_images(images, torch.empty(encoder.img_dim, encoder.img_dim))
    if encoder.batch_norm and images.shape[0] < 2:
        raise ValueError("images must hold at least 2 images: the encoder's BatchNorm scores with batch statistics "
                         "(an encoder without BatchNorm, batch_norm=False, scores one image)")
    device = next(encoder.parameters()).device
    with engine_state(grad=False):
        q_mean, q_sd = encoder(images.to(device=device, dtype=torch.float32))
    return q_mean.double(), q_sd.double()


def draw_images(data, m, rng):
    """m new (fluxes, images) from the model of `data`: f ~ prior, x_p | f ~ Poisson(b + f psf_p).

    Shapes (m,) float64 and (m, img_dim, img_dim) float32. Fluxes are drawn by the prior's inverse CDF
    from `rng`, so any prior with an icdf works and the global RNG is untouched. A negative flux, which
    a Normal prior allows (5 SDs below its mean), contributes no light (course.model.draw_counts).
    """
    u = torch.rand(m, generator=rng, dtype=torch.float64, device=data.images.device)  # (m,)
    fluxes = data.prior.icdf(u).double()  # (m,)
    return fluxes, draw_counts(fluxes, data.psf.double(), data.background, rng).to(torch.float32)  # (m, d, d)


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

        Scored in one batch; with BatchNorm (see StarEncoder) at least 2 images are needed, and each
        image's answer depends on the others. Under a Pareto prior these are the mean and SD of f under the
        shifted LogNormal q (course.vi, (6)).
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
                  num_samples=64, seed=0, callback=None, progress=False, log_every=500, device=None,
                  standardized=False, fresh_images=False, optimizer="sgd"):
    """Train a StarEncoder by stochastic gradient steps on the negative ELBO (3).

    Each step takes `minibatch` images and `num_samples` reparameterised fluxes per image; the loss is
    (3) summed over them, and its gradient (5) is carried back through the encoder. At logged steps the
    objective is (3) per draw over all of `data`'s images, with `num_samples` draws per image fixed for
    the whole fit, so that it is comparable from step to step (one minibatch's value would swing with
    which images it drew); RMSE is logged on `data`'s images too.

    The defaults are the lab's: the images of `data`, drawn with replacement; SGD; raw units; BatchNorm.
    standardized: the encoder reads and writes in the model's units, (13) in StarEncoder.
    fresh_images: every step draws `minibatch` new images from the model of `data` (its PSF, prior and
        background) instead of reusing data's images, so the encoder learns the map from any image of
        the prior to its posterior, and `data`'s images become held-out images it never saw.
    optimizer: "sgd" (the lab's) or "adam", whose per-weight step sizes suit a loss whose scale is
        set by the sharpness of the likelihood, not by the network.
    The weights are initialised, and images and eps drawn, from `seed`; the global RNG is left as it was.
    Under a Pareto prior the encoder still outputs a flux mean and SD, and q is the shifted LogNormal of
    course.vi with those moments.
    """
    lr, iterations, num_samples, log_every = check_options(lr, iterations, num_samples, log_every)
    minibatch = check_int("minibatch", minibatch, 2 if batch_norm else 1)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    device = resolve_device(device)
    data = data.to(device)
    scales = (data.background, float(data.prior.mean), float(data.prior.stddev)) if standardized else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = StarEncoder(data.img_dim, hidden_width, batch_norm, scales).to(device)
    rng = make_generator(seed, device)
    shift = support_shift(data.prior)  # None for the lab's Normal prior
    images = data.images.to(torch.float32)
    score_eps = scoring_draws(data.n, num_samples, seed, device)  # (n, S), the same at every logged step
    with engine_state(grad=True):
        likelihood = StarLikelihood(data.images, data.psf, data.background)
        params = encoder.parameters()
        opt = torch.optim.SGD(params, lr=lr) if optimizer == "sgd" else torch.optim.Adam(params, lr=lr)

        def q_of(q_mean, q_sd):
            """The encoder speaks in fluxes; under a Pareto prior q is the shifted LogNormal with those moments."""
            return (q_mean, q_sd) if shift is None else shifted_lognormal_parameters(q_mean, q_sd, shift)

        def step():
            if fresh_images:
                batch = draw_images(data, minibatch, rng)[1]  # (mb, d, d)
                batch_likelihood, rows = likelihood.with_images(batch), None
            else:
                rows = torch.randint(data.n, (minibatch,), generator=rng, device=device)  # (mb,)
                batch, batch_likelihood = images[rows], likelihood
            q_mean, q_sd = q_of(*encoder(batch))  # (mb,), (mb,)
            if not torch.isfinite(q_mean + q_sd).all():
                return False  # the last step overshot: the weights are no longer finite
            eps = torch.randn(num_samples, minibatch, generator=rng, dtype=torch.float64, device=device).T  # (mb, S)
            d_mean, d_sd = neg_elbo_grad(q_mean.detach(), q_sd.detach(), eps, data.prior, batch_likelihood, rows,
                                         shift=shift)  # (5), then back through the encoder
            opt.zero_grad(set_to_none=True)
            torch.autograd.backward((q_mean, q_sd), (d_mean.to(q_mean.dtype), d_sd.to(q_sd.dtype)))
            opt.step()
            return True

        def score():
            """(3) per draw over all of data's images, with fixed draws, and the RMSE of their posterior means."""
            q_mean, q_sd = q_of(*encoder_posterior(encoder, data.images))  # (n,), (n,)
            objective = neg_elbo(q_mean, q_sd, score_eps, data.prior, likelihood, shift=shift).item() / num_samples
            return objective, flux_rmse(data.true_fluxes, q_mean if shift is None else flux_moments(q_mean, q_sd, shift)[0])

        history = optimise(step, score, iterations, log_every, callback=callback, progress=progress, desc="amortized VI")
    return AmortizedResult(encoder, history, data.images, shift)

