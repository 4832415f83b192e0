"""Answers to the seven autograded exercises of vi_beyond written in other styles, and wrong answers (mutants), for
mutation testing of its tests (the format of tests/answers.py).

Each source replaces a whole answer cell of source/vi_beyond/vi_beyond.ipynb and keeps defining (and printing)
what the rest of the notebook reads from that cell. It may use the names the notebook defines before it (math,
plt, torch, Normal, Poisson, course, data, n, true_fluxes, grid, vi, amortized_mean, amortized_sd, log_evidence,
fixed, score_d_mean, pareto, x_m, pareto_grid, pareto_vi, ...). EQUIVALENT answers are correct in another style and must
earn every point; each MUTANT is wrong on some input the exercise covers and must lose the test cells listed
beside it.
"""

# --- the lines each answer cell runs after its function (kept as in the notebook) ---
_A1 = '''
log_evidence = torch.as_tensor(log_evidence_from_grid(grid.log_joint, 100), dtype=torch.float64)  # (n,)
print(log_evidence[:4].numpy().round(3))
'''
_A2 = '''
prior_term = torch.as_tensor(expected_log_prior(vi.q_mean, vi.q_sd, float(data.prior.loc), float(data.prior.scale)),
                             dtype=torch.float64)  # (n,)
print(prior_term[:4].numpy().round(3))
'''
_B1 = '''
eps = torch.randn(n, 1000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
score_d_mean, score_d_sd = (torch.as_tensor(d, dtype=torch.float64)
                            for d in score_function_estimates(eps, vi.q_mean, vi.q_sd, data))  # (n, 1000) each
print(f"image 0, d ELBO / d q_mean: mean of 1000 draws {score_d_mean[0].mean():.4f}, SD {score_d_mean[0].std():.3f}")
'''
_B2 = '''
reparam_d_mean, reparam_d_sd = course.gradient_draws(data, vi.q_mean, vi.q_sd, "reparam", "analytic", num_draws=1000, seed=1)
ratio = torch.as_tensor(variance_ratio(score_d_mean, reparam_d_mean), dtype=torch.float64)  # (n,)
print(f"variance of the score function / reparameterisation, d/d q_mean: median over images {ratio.median():.3g}")
'''
_C1 = '''
print(f"per-image VI, the 16 images of section (a): "
      f"{torch.as_tensor(interval_coverage(true_fluxes, vi.q_mean, vi.q_sd, 0.68), dtype=torch.float64).item():.3f} in the 68% intervals")
'''
_D1 = '''
i = int(((pareto_grid.mean - x_m) / pareto_grid.sd).argmin())  # the star nearest the edge
m, s = pareto_grid.mean[i], pareto_grid.sd[i]  # its posterior's mean and SD
print(f"image {i}: KL[p || N(mean, sd^2)] in nats, for the Normal with")
for label, mean, sd in [("the posterior's mean and SD", m, s), ("mean + 200", m + 200, s), ("mean - 200", m - 200, s),
                        ("SD x 1.2", m, 1.2 * s), ("SD x 0.8", m, 0.8 * s)]:
    log_q = Normal(mean, sd).log_prob(pareto_grid.grid).unsqueeze(0)  # (1, G)
    kl = torch.as_tensor(forward_kl(pareto_grid.probs[i:i + 1], log_q, 20), dtype=torch.float64)  # (1,)
    print(f"  {label:<28} {kl.item():.4f}")
'''
_D2 = '''
i = int((pareto_grid.mean - x_m).argmin())  # the star nearest the edge
fluxes = pareto_grid.grid[pareto_grid.grid < x_m + 8000]
q_density = torch.as_tensor(shifted_lognormal_log_prob(fluxes, pareto_vi.q_loc[i], pareto_vi.q_scale[i], x_m),
                            dtype=torch.float64).exp()
print(f"image {i}: q puts {float(q_density.sum() * 20):.3f} of its mass below x_m + 8000, none below x_m: "
      f"{float(q_density[fluxes <= x_m].sum()):.1f}")
'''

# the body of exercise B1 up to the weight, shared by several variants
_B1_HEAD = '''def score_function_estimates(eps, q_mean, q_sd, data):
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)
    f = m + s * eps
    rate = data.background + f.unsqueeze(-1) * data.psf.double().reshape(-1)
    log_lik = Poisson(rate).log_prob(data.images.double().reshape(data.n, 1, -1)).sum(-1)
    weight = log_lik + Normal(data.prior.loc.double(), data.prior.scale.double()).log_prob(f)
'''

EQUIVALENT = {
    "a1_answer": [
        ("max-shifted sum of exponentials", '''def log_evidence_from_grid(log_joint, bin_width):
    top = log_joint.max(dim=1, keepdim=True).values
    return top.squeeze(1) + (log_joint - top).exp().sum(1).log() + math.log(bin_width)
''' + _A1),
        ("bin width inside the log-sum-exp", '''def log_evidence_from_grid(log_joint, bin_width):
    return torch.logsumexp(log_joint + math.log(bin_width), 1)
''' + _A1),
        ("numpy, row by row", '''import numpy as np
def log_evidence_from_grid(log_joint, bin_width):
    rows = []
    for row in log_joint.numpy():
        top = row.max()
        rows.append(top + np.log(np.exp(row - top).sum() * bin_width))
    return torch.tensor(rows)
''' + _A1),
    ],
    "a2_answer": [
        ("log-density at the mean minus the spread", '''def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):
    return Normal(prior_mean, prior_sd).log_prob(q_mean) - q_sd ** 2 / (2 * prior_sd ** 2)
''' + _A2),
        ("Gauss-Hermite with numpy", '''import numpy as np
def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):
    t, w = np.polynomial.hermite.hermgauss(5)
    f = q_mean.numpy()[:, None] + np.sqrt(2) * q_sd.numpy()[:, None] * t
    log_p = -0.5 * ((f - prior_mean) / prior_sd) ** 2 - np.log(prior_sd * np.sqrt(2 * np.pi))
    return torch.from_numpy(log_p @ w / np.sqrt(np.pi))
''' + _A2),
    ],
    "b1_answer": [
        ("course.StarLikelihood for log p(x | f), float32 parameters", '''def score_function_estimates(eps, q_mean, q_sd, data):
    m, s = q_mean.float().unsqueeze(1).double(), q_sd.float().unsqueeze(1).double()
    f = m + s * eps
    log_joint = course.StarLikelihood(data.images, data.psf, data.background)(f) + data.prior.log_prob(f)
    return log_joint * eps / s, log_joint * (eps ** 2 - 1) / s + 1 / s
''' + _B1),
        ("scores by autograd of log q, one draw at a time", '''def score_function_estimates(eps, q_mean, q_sd, data):
    d_mean, d_sd = torch.empty_like(eps), torch.empty_like(eps)
    x = data.images.double()
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    for r in range(eps.shape[1]):
        m = q_mean.double().clone().requires_grad_()
        s = q_sd.double().clone().requires_grad_()
        f = (m + s * eps[:, r]).detach()
        weight = Poisson(data.background + f.view(-1, 1, 1) * data.psf.double()).log_prob(x).sum((1, 2)) + prior.log_prob(f)
        q = Normal(m, s)
        (weight * q.log_prob(f) + q.entropy()).sum().backward()
        d_mean[:, r], d_sd[:, r] = m.grad, s.grad
    return d_mean, d_sd
''' + _B1),
    ],
    "b2_answer": [
        ("population variances (the factor cancels)", '''def variance_ratio(draws_a, draws_b):
    return draws_a.var(1, correction=0) / draws_b.var(1, correction=0)
''' + _B2),
        ("numpy", '''import numpy as np
def variance_ratio(draws_a, draws_b):
    a, b = np.asarray(draws_a), np.asarray(draws_b)
    return torch.from_numpy(np.var(a, axis=1, ddof=1) / np.var(b, axis=1, ddof=1))
''' + _B2),
    ],
    "c1_answer": [
        ("torch.special.ndtri, an interval per star", '''def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = torch.special.ndtri(torch.tensor((1 + level) / 2, dtype=torch.float64))
    lower, upper = q_mean - z * q_sd, q_mean + z * q_sd
    return ((lower <= true_fluxes) & (true_fluxes <= upper)).sum().item() / len(true_fluxes)
''' + _C1),
        ("statistics.NormalDist, strict inequalities, a Python loop", '''from statistics import NormalDist
def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = NormalDist().inv_cdf((1 + level) / 2)
    hits = [float(m) - z * float(s) < float(f) < float(m) + z * float(s) for f, m, s in zip(true_fluxes, q_mean, q_sd)]
    return sum(hits) / len(hits)
''' + _C1),
    ],
    "d1_answer": [
        ("xlogy, and a mask for log q", '''def forward_kl(probs, log_q, bin_width):
    safe_log_q = torch.where(probs > 0, log_q, torch.zeros_like(log_q))
    return (torch.special.xlogy(probs, probs) - probs * (math.log(bin_width) + safe_log_q)).sum(1)
''' + _D1),
        ("densities integrated, NaN terms dropped", '''def forward_kl(probs, log_q, bin_width):
    density = probs / bin_width
    return torch.nansum(bin_width * density * (density.log() - log_q), dim=1)
''' + _D1),
        ("a loop over images, the bins with p_g > 0", '''def forward_kl(probs, log_q, bin_width):
    out = []
    for p, lq in zip(probs, log_q):
        keep = p > 0
        out.append((p[keep] * (torch.log(p[keep]) - math.log(bin_width) - lq[keep])).sum())
    return torch.stack(out)
''' + _D1),
    ],
    "d2_answer": [
        ("torch transforms, masked", '''from torch.distributions import AffineTransform, ExpTransform, TransformedDistribution
def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    z = Normal(torch.as_tensor(q_loc, dtype=torch.float64), torch.as_tensor(q_scale, dtype=torch.float64))
    q = TransformedDistribution(z, [ExpTransform(), AffineTransform(shift, 1.0)])
    safe = torch.where(f > shift, f, torch.full_like(f, shift + 1.0))
    return torch.where(f > shift, q.log_prob(safe), torch.full_like(f, -math.inf))
''' + _D2),
        ("the formula written out", '''def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    z = torch.log(torch.clamp(f - shift, min=1e-300))
    log_q = -0.5 * ((z - q_loc) / q_scale) ** 2 - torch.log(torch.as_tensor(q_scale, dtype=f.dtype)) - 0.5 * math.log(2 * math.pi) - z
    return log_q.masked_fill(f <= shift, -math.inf)
''' + _D2),
    ],
}

MUTANTS = {
    "a1_answer": [
        (name, f"def log_evidence_from_grid(log_joint, bin_width):\n    return {ret}\n" + _A1, {"a1_test"})
        for name, ret in [
            ("no bin width", "torch.logsumexp(log_joint, 1)"),
            ("log of a sum of exponentials, underflowing", "log_joint.exp().sum(1).log() + math.log(bin_width)"),
            ("the largest term only", "log_joint.max(1).values + math.log(bin_width)"),
            ("a mean, not a sum", "torch.logsumexp(log_joint, 1) - math.log(log_joint.shape[1]) + math.log(bin_width)"),
            ("bin width hard-coded", "torch.logsumexp(log_joint, 1) + math.log(100)"),
            ("bin width not logged", "torch.logsumexp(log_joint, 1) + bin_width"),
        ]
    ],
    "a2_answer": [
        (name, f"def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):\n    return {ret}\n" + _A2, {"a2_test"})
        for name, ret in [
            ("forgets q's spread", "Normal(prior_mean, prior_sd).log_prob(q_mean)"),
            ("q's SD, not its variance", "Normal(prior_mean, prior_sd).log_prob(q_mean) - q_sd / (2 * prior_sd ** 2)"),
            ("no normalising constant", "-((q_mean - prior_mean) ** 2 + q_sd ** 2) / (2 * prior_sd ** 2)"),
            ("the lab's prior hard-coded", "Normal(64000.0, 12800.0).log_prob(q_mean) - q_sd ** 2 / (2 * 12800.0 ** 2)"),
            ("the prior's SD as its variance", "Normal(prior_mean, prior_sd ** 0.5).log_prob(q_mean) - q_sd ** 2 / (2 * prior_sd)"),
        ]
    ],
    "b1_answer": [
        (name, _B1_HEAD + f"    return {ret}\n" + _B1, {"b1_test"})
        for name, ret in [
            ("no entropy gradient", "weight * eps / s, weight * (eps ** 2 - 1) / s"),
            ("sampled entropy instead", "(weight - Normal(m, s).log_prob(f)) * eps / s, (weight - Normal(m, s).log_prob(f)) * (eps ** 2 - 1) / s + 1 / s"),
            ("score of s without the -1", "weight * eps / s, weight * eps ** 2 / s + 1 / s"),
            ("scores of the variance, not the SD", "weight * eps / s, weight * (eps ** 2 - 1) / (2 * s ** 2) + 1 / s"),
            ("the likelihood only, no prior", "(weight - Normal(data.prior.loc.double(), data.prior.scale.double()).log_prob(f)) * eps / s, "
                                              "(weight - Normal(data.prior.loc.double(), data.prior.scale.double()).log_prob(f)) * (eps ** 2 - 1) / s + 1 / s"),
        ]
    ] + [
        ("without -log x! (a baseline: unbiased, but not the estimator asked for)", '''def score_function_estimates(eps, q_mean, q_sd, data):
    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)
    f = m + s * eps
    rate = data.background + f.unsqueeze(-1) * data.psf.double().reshape(-1)
    x = data.images.double().reshape(data.n, 1, -1)
    weight = (x * rate.log() - rate).sum(-1) + Normal(data.prior.loc.double(), data.prior.scale.double()).log_prob(f)
    return weight * eps / s, weight * (eps ** 2 - 1) / s + 1 / s
''' + _B1, {"b1_test"}),
        ("the reparameterisation estimator", '''def score_function_estimates(eps, q_mean, q_sd, data):
    from course.gradients import reparam_gradient
    likelihood = course.StarLikelihood(data.images, data.psf, data.background)
    return reparam_gradient(eps, q_mean, q_sd, data.prior, likelihood, "analytic")
''' + _B1, {"b1_test"}),
    ],
    "b2_answer": [
        (name, f"def variance_ratio(draws_a, draws_b):\n    return {ret}\n" + _B2, {"b2_test"})
        for name, ret in [
            ("ratio of SDs", "draws_a.std(1) / draws_b.std(1)"),
            ("inverted", "draws_b.var(1) / draws_a.var(1)"),
            ("over images, not draws", "(draws_a.var(0) / draws_b.var(0))[:draws_a.shape[0]]"),
            ("mean squares, not variances", "draws_a.square().mean(1) / draws_b.square().mean(1)"),
        ]
    ],
    "c1_answer": [
        (name, f"def interval_coverage(true_fluxes, q_mean, q_sd, level):\n    z = {z}\n"
               "    return float(((true_fluxes - q_mean).abs() <= z * q_sd).double().mean())\n" + _C1, {"c1_test"})
        for name, z in [
            ("one-sided quantile", "float(Normal(0.0, 1.0).icdf(torch.tensor(level)))"),
            ("z = 1 whatever the level", "1.0"),
            ("the level as z", "level"),
            ("z of the 95% interval always", "1.96"),
            ("half the interval", "float(Normal(0.0, 1.0).icdf(torch.tensor((1 + level) / 2))) / 2"),
        ]
    ] + [
        ("a count, not a fraction", '''def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = float(Normal(0.0, 1.0).icdf(torch.tensor((1 + level) / 2)))
    return float(((true_fluxes - q_mean).abs() <= z * q_sd).sum())
''' + _C1, {"c1_test"}),
    ],
    "d1_answer": [
        (name, f"def forward_kl(probs, log_q, bin_width):\n    return {ret}\n" + _D1, {"d1_test"})
        for name, ret in [
            ("no bin width: probabilities as densities", "torch.where(probs > 0, probs * (probs.log() - log_q), torch.zeros_like(probs)).sum(1)"),
            ("NaN where p_g = 0 and log q = -inf", "(probs * (probs.log() - math.log(bin_width) - log_q)).sum(1)"),
            ("NaN terms replaced by zero, and inf ones too", "torch.nan_to_num(probs * (probs.log() - math.log(bin_width) - log_q), nan=0.0, posinf=0.0).sum(1)"),
            ("the reverse direction", "torch.where(log_q > -math.inf, bin_width * log_q.exp() * (log_q - (probs / bin_width).log()), torch.zeros_like(log_q)).sum(1)"),
            ("the bin width with the wrong sign", "torch.where(probs > 0, probs * (probs.log() + math.log(bin_width) - log_q), torch.zeros_like(probs)).sum(1)"),
            ("summed over images, not bins", "torch.where(probs > 0, probs * (probs.log() - math.log(bin_width) - log_q), torch.zeros_like(probs)).sum(0)[:probs.shape[0]]"),
            ("the lab's bin width hard-coded", "torch.where(probs > 0, probs * (probs.log() - math.log(100) - log_q), torch.zeros_like(probs)).sum(1)"),
        ]
    ],
    "d2_answer": [
        (name, "def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):\n"
               "    inside = f > shift\n    gap = torch.where(inside, f - shift, torch.ones_like(f))\n"
               f"    log_q = {ret}\n"
               "    return torch.where(inside, log_q, torch.full_like(log_q, -math.inf))\n" + _D2, {"d2_test"})
        for name, ret in [
            ("no Jacobian", "Normal(q_loc, q_scale).log_prob(gap.log())"),
            ("Jacobian with the wrong sign", "Normal(q_loc, q_scale).log_prob(gap.log()) + gap.log()"),
            ("log f, not log(f - shift)", "Normal(q_loc, q_scale).log_prob(f.log()) - f.log()"),
            ("q_scale as a variance", "Normal(q_loc, torch.as_tensor(q_scale) ** 0.5).log_prob(gap.log()) - gap.log()"),
        ]
    ] + [
        ("NaN below the shift", '''def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    z = (f - shift).log()
    return Normal(q_loc, q_scale, validate_args=False).log_prob(z) - z
''' + _D2, {"d2_test"}),
        ("zero, not -inf, below the shift", '''def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    inside = f > shift
    gap = torch.where(inside, f - shift, torch.ones_like(f))
    log_q = Normal(q_loc, q_scale).log_prob(gap.log()) - gap.log()
    return torch.where(inside, log_q, torch.zeros_like(log_q))
''' + _D2, {"d2_test"}),
    ],
}

# --- correct values in other types: the tests and the notebook's own lines read values, not types ---
EQUIVALENT["a1_answer"] += [
    ("a numpy array", '''import numpy as np
def log_evidence_from_grid(log_joint, bin_width):
    table = np.asarray(log_joint)
    top = table.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(table - top).sum(axis=1)) + np.log(bin_width)
''' + _A1),
    ("a list of floats", '''def log_evidence_from_grid(log_joint, bin_width):
    return [float(torch.logsumexp(row, 0)) + math.log(bin_width) for row in log_joint]
''' + _A1),
]
EQUIVALENT["a2_answer"] += [
    ("a numpy array", '''import numpy as np
def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):
    m, s = np.asarray(q_mean), np.asarray(q_sd)
    return -np.log(prior_sd) - 0.5 * np.log(2 * np.pi) - ((m - prior_mean) ** 2 + s ** 2) / (2 * prior_sd ** 2)
''' + _A2),
    ("a list of floats", '''def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):
    return [-math.log(prior_sd) - 0.5 * math.log(2 * math.pi) - ((m - prior_mean) ** 2 + s ** 2) / (2 * prior_sd ** 2)
            for m, s in zip(q_mean.tolist(), q_sd.tolist())]
''' + _A2),
]
EQUIVALENT["b1_answer"] += [
    ("a pair of numpy arrays", _B1_HEAD + '''    return (weight * eps / s).numpy(), (weight * (eps ** 2 - 1) / s + 1 / s).numpy()
''' + _B1),
    ("a list of two nested lists", _B1_HEAD + '''    return [(weight * eps / s).tolist(), (weight * (eps ** 2 - 1) / s + 1 / s).tolist()]
''' + _B1),
]
EQUIVALENT["b2_answer"] += [
    ("a numpy array", '''import numpy as np
def variance_ratio(draws_a, draws_b):
    return np.var(np.asarray(draws_a), axis=1, ddof=1) / np.var(np.asarray(draws_b), axis=1, ddof=1)
''' + _B2),
    ("a list of floats", '''def variance_ratio(draws_a, draws_b):
    return [float(a.var() / b.var()) for a, b in zip(draws_a, draws_b)]
''' + _B2),
]
EQUIVALENT["c1_answer"] += [
    ("a fraction rounded to float32", '''def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = float(Normal(0.0, 1.0).icdf(torch.tensor((1 + level) / 2)))
    inside = (true_fluxes - q_mean).abs() <= z * q_sd
    return inside.float().mean().item()
''' + _C1),
    ("a float32 tensor of one element", '''def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = Normal(0.0, 1.0).icdf(torch.tensor((1 + level) / 2))
    return ((true_fluxes - q_mean).abs() <= z * q_sd).float().mean().reshape(1)
''' + _C1),
    ("a numpy float64", '''import numpy as np
from statistics import NormalDist
def interval_coverage(true_fluxes, q_mean, q_sd, level):
    z = NormalDist().inv_cdf((1 + level) / 2)
    return np.mean(np.abs(np.asarray(true_fluxes) - np.asarray(q_mean)) <= z * np.asarray(q_sd))
''' + _C1),
]
EQUIVALENT["d1_answer"] += [
    ("a numpy array", '''def forward_kl(probs, log_q, bin_width):
    terms = probs * (probs.log() - math.log(bin_width) - log_q)
    return torch.where(probs > 0, terms, torch.zeros_like(terms)).sum(1).numpy()
''' + _D1),
    ("a list of floats", '''def forward_kl(probs, log_q, bin_width):
    terms = probs * (probs.log() - math.log(bin_width) - log_q)
    return torch.where(probs > 0, terms, torch.zeros_like(terms)).sum(1).tolist()
''' + _D1),
]
EQUIVALENT["d2_answer"] += [
    ("a numpy array", '''import numpy as np
def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    inside = f > shift
    gap = torch.where(inside, f - shift, torch.ones_like(f))
    log_q = Normal(q_loc, q_scale).log_prob(gap.log()) - gap.log()
    return np.asarray(torch.where(inside, log_q, torch.full_like(log_q, -math.inf)))
''' + _D2),
    ("nested lists", '''def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):
    inside = f > shift
    gap = torch.where(inside, f - shift, torch.ones_like(f))
    log_q = Normal(q_loc, q_scale).log_prob(gap.log()) - gap.log()
    return torch.where(inside, log_q, torch.full_like(log_q, -math.inf)).tolist()
''' + _D2),
]

# --- wrong answers that ignore an argument (or read the notebook's variable in its place) ---
MUTANTS["a1_answer"] += [
    ("the notebook's grid, not the argument", "def log_evidence_from_grid(log_joint, bin_width):\n"
     "    return torch.logsumexp(grid.log_joint, 1) + math.log(bin_width)\n" + _A1, {"a1_test"}),
]
MUTANTS["a2_answer"] += [
    (name, f"def expected_log_prior(q_mean, q_sd, prior_mean, prior_sd):\n    return {ret}\n" + _A2, {"a2_test"})
    for name, ret in [
        ("q_mean ignored (q centred on the prior mean)", "-math.log(prior_sd) - 0.5 * math.log(2 * math.pi) - q_sd ** 2 / (2 * prior_sd ** 2)"),
        ("the lab's prior mean hard-coded", "Normal(64000.0, prior_sd).log_prob(q_mean) - q_sd ** 2 / (2 * prior_sd ** 2)"),
        ("the lab's prior SD hard-coded", "Normal(prior_mean, 12800.0).log_prob(q_mean) - q_sd ** 2 / (2 * 12800.0 ** 2)"),
    ]
]
MUTANTS["b1_answer"] += [
    (name, _B1_HEAD.replace("    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)\n", head)
     + "    return weight * eps / s, weight * (eps ** 2 - 1) / s + 1 / s\n" + _B1, {"b1_test"})
    for name, head in [
        ("eps ignored (fresh draws)", "    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)\n"
                                      "    eps = torch.randn(eps.shape, dtype=torch.float64)\n"),
        ("q_mean ignored (the sky-subtracted flux)", "    m, s = course.sky_subtracted_flux(data).double().unsqueeze(1), q_sd.double().unsqueeze(1)\n"),
        ("q_sd ignored (1,000 for every image)", "    m = q_mean.double().unsqueeze(1)\n    s = torch.full_like(m, 1000.0)\n"),
        ("the notebook's data, not the argument", "    m, s = q_mean.double().unsqueeze(1), q_sd.double().unsqueeze(1)\n"
                                                  "    data = globals()['data']\n"),
    ]
]
MUTANTS["b2_answer"] += [
    (name, f"def variance_ratio(draws_a, draws_b):\n    return {ret}\n" + _B2, {"b2_test"})
    for name, ret in [
        ("draws_b ignored", "draws_a.var(1)"),
        ("draws_a ignored", "1 / draws_b.var(1)"),
    ]
]
MUTANTS["c1_answer"] += [
    (name, f"def interval_coverage(true_fluxes, q_mean, q_sd, level):\n"
           "    z = float(Normal(0.0, 1.0).icdf(torch.tensor((1 + level) / 2)))\n"
           f"    return float(({inside}).double().mean())\n" + _C1, {"c1_test"})
    for name, inside in [
        ("intervals centred on zero (q_mean ignored)", "true_fluxes.abs() <= z * q_sd"),
        ("one width for every star (q_sd's mean)", "(true_fluxes - q_mean).abs() <= z * q_sd.mean()"),
        ("the notebook's true fluxes, not the argument", "(data.true_fluxes - q_mean).abs() <= z * q_sd"),
    ]
]
MUTANTS["d1_answer"] += [
    (name, f"def forward_kl(probs, log_q, bin_width):\n    return {ret}\n" + _D1, {"d1_test"})
    for name, ret in [
        ("log_q ignored (minus the entropy only)", "torch.where(probs > 0, probs * (probs.log() - math.log(bin_width)), torch.zeros_like(probs)).sum(1)"),
        ("the notebook's posterior, not the argument", "torch.where(pareto_grid.probs > 0, pareto_grid.probs * (pareto_grid.probs.log() - math.log(bin_width) - log_q), torch.zeros_like(log_q)).sum(1)"),
    ]
]
MUTANTS["d2_answer"] += [
    (name, "def shifted_lognormal_log_prob(f, q_loc, q_scale, shift):\n" + pre +
           "    inside = f > shift\n    gap = torch.where(inside, f - shift, torch.ones_like(f))\n"
           "    log_q = Normal(q_loc, q_scale).log_prob(gap.log()) - gap.log()\n"
           "    return torch.where(inside, log_q, torch.full_like(log_q, -math.inf))\n" + _D2, {"d2_test"})
    for name, pre in [
        ("shift ignored (the notebook's x_m)", "    shift = x_m\n"),
        ("q_loc ignored (0)", "    q_loc = 0.0\n"),
        ("q_scale ignored (1)", "    q_scale = 1.0\n"),
    ]
]
