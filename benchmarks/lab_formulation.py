"""The lab's formulation of each method, written plainly: the baseline that benchmarks time and tests trust.

Every function follows the original lab's tensor layout step by step: full (n, d, d, grid) or
(n, d, d, S) Poisson tensors through torch.distributions, autograd for every gradient, float32
unless a dtype is given. Slow on purpose; never used by the course itself.
"""
import torch
from torch import nn
from torch.distributions import Normal, Poisson


def lab_simulate(n=16, img_dim=15, seed=0):
    """The lab's data, drawn from the global RNG after torch.manual_seed(seed) (which it restores after)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        marginal = 1 + torch.arange(img_dim, dtype=torch.float32)
        half = img_dim // 2
        marginal[half:] -= 2 * torch.arange(half + 1)
        psf = torch.mm(marginal.view(img_dim, 1), marginal.view(1, img_dim))
        psf /= psf.sum()
        mean_star_flux = 1000 / psf.max()
        prior = Normal(mean_star_flux, 0.2 * mean_star_flux)
        true_fluxes = prior.sample([n])
        background = 0.3 * mean_star_flux
        rate = background + true_fluxes.view(n, 1, 1) * psf.view(1, img_dim, img_dim)
        images = Poisson(rate).sample()
    return psf, prior, float(background), true_fluxes, images


def lab_grid_posterior(data, bin_width=100, grid_size=5000, dtype=torch.float32):
    """Posterior mean on the grid through an (n, d, d, grid) tensor of Poisson log-probabilities."""
    n, d = data.n, data.img_dim
    psf, images = data.psf.to(dtype), data.images.to(dtype)
    prior = Normal(data.prior.loc.to(dtype), data.prior.scale.to(dtype))
    grid = 0.1 * prior.mean + torch.arange(grid_size, dtype=dtype) * bin_width
    rate = psf.view(1, d, d, 1) * grid.view(1, 1, 1, grid_size) + data.background
    log_lik = Poisson(rate).log_prob(images.view(n, d, d, 1)).sum([1, 2])  # (n, grid)
    probs = (log_lik + prior.log_prob(grid)).softmax(1)
    return (probs * grid.view(1, grid_size)).sum(1)


def lab_neg_elbo(q, z, flux_prior, rate, images):
    """The lab's three statements: sum log q(z) - sum log p(z) - sum log p(x | z)."""
    value = q.log_prob(z).sum()
    value = value - flux_prior.log_prob(z).sum()
    value = value - Poisson(rate).log_prob(images).sum()
    return value


def lab_fit_vi(data, lr=100, iterations=3000, num_samples=64, seed=0):
    """Per-image VI as the lab runs it. Returns (q_mean, q_sd) as detached tensors."""
    n, d = data.n, data.img_dim
    psf, images = data.psf, data.images
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        q_mean = nn.Parameter((images - data.background).sum([1, 2]) + 5000)
        q_sd = nn.Parameter(torch.ones(n) * 100)
        optimizer = torch.optim.SGD([q_mean, q_sd], lr=lr)
        for _ in range(iterations):
            q = Normal(q_mean, q_sd.clamp(1e-4))
            z = q.rsample((num_samples,))  # (S, n)
            rate = psf.view(1, d, d, 1) * z.permute(1, 0).view(n, 1, 1, num_samples) + data.background
            loss = lab_neg_elbo(q, z, data.prior, rate, images.view(n, d, d, 1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return q_mean.detach(), q_sd.detach()


class LabEncoder(nn.Module):
    """The lab's encoder, BatchNorm with running statistics included."""

    def __init__(self, img_dim=15, hidden_width=64):
        super().__init__()
        self.img_dim = img_dim
        self.net = nn.Sequential(
            nn.Linear(img_dim * img_dim, hidden_width), nn.ReLU(),
            nn.Linear(hidden_width, hidden_width), nn.BatchNorm1d(hidden_width), nn.ReLU(),
            nn.Linear(hidden_width, 2),
        )

    def forward(self, x):
        out = self.net(x.view(-1, self.img_dim ** 2))
        return Normal(out[:, 0], out[:, 1].clamp(-6, 6).exp())


def lab_fit_amortized(data, lr=1e-3, iterations=30000, minibatch=8, num_samples=64, seed=0):
    """Amortized VI as the lab runs it. Returns the trained LabEncoder (left in training mode)."""
    n, d = data.n, data.img_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = LabEncoder(d)
        optimizer = torch.optim.SGD(encoder.parameters(), lr=lr)
        for _ in range(iterations):
            x = data.images[torch.randint(n, (minibatch,))]
            q = encoder(x)
            z = q.rsample((num_samples,))  # (S, mb)
            star_rate = data.psf.view(1, d, d, 1) * z.permute(1, 0).view(minibatch, 1, 1, num_samples)
            rate = star_rate.clamp(0) + data.background
            loss = lab_neg_elbo(q, z, data.prior, rate, x.view(minibatch, d, d, 1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return encoder
