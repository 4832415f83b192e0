"""Calibration: how often each method's central credible intervals contain the true flux.

For a level c, the central interval of a posterior (or of q) runs from its (1 - c)/2 to its (1 + c)/2 quantile.
If the fluxes are drawn from the prior the model assumes, the exact posterior's intervals contain the true
flux with probability exactly c, averaged over data sets (Cook, Gelman & Rubin 2006, simulation-based
calibration), so the observed fraction over N stars is Binomial(N, c) / N.

    coverage_c = (1 / N) sum_i 1[ lower_c(x_i) <= f_i <= upper_c(x_i) ]                                   (12)

The stars are independent given the model, so many seeds' data sets are simply stacked into one data set
(simulate_seeds) and each method is fitted once on all of them: per-image VI fits every image at once, and
one encoder is trained on them all. At least 100 seeds give binomial errors of ~2% at c = 0.68.
"""
import torch

from .amortized import fit_amortized
from .grid import grid_posterior
from .model import StarData, simulate
from .vi import fit_vi, support_shift

METHODS = ("grid", "vi", "amortized")


def check_level(level):
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    return level


def simulate_seeds(seeds, n=16, img_dim=15, prior="normal"):
    """The data sets course.simulate(n, img_dim, seed, prior=prior) of every seed in `seeds`, stacked in order
    into one StarData of len(seeds) * n images (image k * n + i is image i of seed seeds[k])."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    sets = [simulate(n=n, img_dim=img_dim, seed=seed, prior=prior) for seed in seeds]
    first = sets[0]
    return StarData(first.psf, first.prior, first.background, torch.cat([d.true_fluxes for d in sets]),
                    torch.cat([d.images for d in sets]))


def grid_interval(posterior, level):
    """The central `level` interval of each grid posterior: ((n,), (n,)) float64.

    Each grid point's probability is spread uniformly over its bin [f_g - w/2, f_g + w/2], so the CDF is
    piecewise linear and a quantile is found by linear interpolation inside the bin where the CDF crosses it.
    """
    level = check_level(level)
    grid, probs = posterior.grid, posterior.probs  # (G,), (n, G)
    width = float(grid[1] - grid[0]) if grid.numel() > 1 else 1.0
    cdf = probs.cumsum(1)  # (n, G): the CDF at the upper edge of each bin

    def quantile(q):
        target = torch.full((probs.shape[0], 1), q, dtype=torch.float64)
        k = torch.searchsorted(cdf, target).clamp(max=grid.numel() - 1)  # (n, 1): the bin where the CDF reaches q
        mass = probs.gather(1, k)
        before = cdf.gather(1, k) - mass  # (n, 1): the CDF at the bin's lower edge
        inside = ((target - before) / mass.clamp(min=1e-300)).clamp(0, 1)
        return (grid[k] - width / 2 + inside * width).squeeze(1)

    return quantile((1 - level) / 2), quantile((1 + level) / 2)


def normal_interval(q_mean, q_sd, level):
    """The central `level` interval of N(q_mean, q_sd^2): q_mean -/+ z q_sd, z = Phi^-1((1 + level) / 2)."""
    level = check_level(level)
    z = float(torch.special.ndtri(torch.tensor((1 + level) / 2, dtype=torch.float64)))
    q_mean, q_sd = torch.as_tensor(q_mean, dtype=torch.float64), torch.as_tensor(q_sd, dtype=torch.float64)
    return q_mean - z * q_sd, q_mean + z * q_sd


def coverage(true_fluxes, lower, upper):
    """(12): the fraction of the true fluxes inside their intervals, a Python float."""
    f = torch.as_tensor(true_fluxes, dtype=torch.float64)
    lower, upper = torch.as_tensor(lower, dtype=torch.float64), torch.as_tensor(upper, dtype=torch.float64)
    if not f.shape == lower.shape == upper.shape or f.dim() != 1:
        raise ValueError(f"true_fluxes, lower and upper must have one shape (n,), got {tuple(f.shape)}, "
                         f"{tuple(lower.shape)} and {tuple(upper.shape)}")
    return float(((lower <= f) & (f <= upper)).double().mean())


# The fitting budget of coverage_table, smaller than the lab's (measured on 400 images, 100 seeds x 4):
# per-image VI in 2,000 SGD steps of 16 draws at lr 400 (the same step per draw as the lab's 64 draws at 100)
# ends with posterior means within 0.03 SD of the grid's on average and SDs within 1% (about 6 s);
# the encoder gets 5,000 minibatch steps over all the images.
VI_BUDGET = {"iterations": 2000, "num_samples": 16, "lr": 400}
AMORTIZED_BUDGET = {"iterations": 5000}


def coverage_table(data, levels=(0.68, 0.95), vi_options=None, amortized_options=None, seed=0):
    """(12) for each method and level on `data` (say, simulate_seeds(range(100), n=4)):
    {"grid" | "vi" | "amortized": [coverage at each level]}.

    Each method is fitted once on all of data's images, with `seed`: the grid posterior on the lab's grid;
    fit_vi with vi_options (default VI_BUDGET) and fit_amortized with amortized_options (default
    AMORTIZED_BUDGET). Normal prior only: the intervals of VI and the encoder are those of a Normal q.
    """
    levels = [check_level(level) for level in levels]
    if support_shift(data.prior) is not None:
        raise ValueError("data must have the Normal prior: the intervals of VI and the encoder are Normal intervals")
    post = grid_posterior(data)
    vi = fit_vi(data, seed=seed, **(VI_BUDGET if vi_options is None else vi_options))
    q_mean, q_sd = fit_amortized(data, seed=seed, **(AMORTIZED_BUDGET if amortized_options is None
                                                     else amortized_options)).posterior()
    intervals = {"grid": lambda level: grid_interval(post, level),
                 "vi": lambda level: normal_interval(vi.q_mean, vi.q_sd, level),
                 "amortized": lambda level: normal_interval(q_mean, q_sd, level)}
    return {method: [coverage(data.true_fluxes, *intervals[method](level)) for level in levels] for method in METHODS}
