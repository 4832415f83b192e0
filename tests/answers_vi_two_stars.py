"""Answers to the five autograded exercises of vi_two_stars written in other styles, and wrong answers (mutants), for
mutation testing of its tests (the format of tests/answers.py).

Each source replaces a whole answer cell of source/vi_two_stars/vi_two_stars.ipynb and keeps defining (and printing)
what the rest of the notebook reads from that cell. It may use the names the notebook defines before it (math,
plt, torch, Normal, Poisson, course, data, n, images, psfs, background, prior_loc, prior_scale, grid, grid_mean,
grid_sd, grid_corr, mean_field_1, full_rank_1, two_star_log_joint, gaussian_entropy, ...). EQUIVALENT answers are
correct in another style and must earn every point; each MUTANT is wrong on some input the exercise covers and
must lose the test cells listed beside it. Exercise B2's loop calls the notebook's two_star_log_joint and
gaussian_entropy, so the equivalents of A1 and B1 stay differentiable in torch.
"""

# --- the lines each answer cell runs after its function (kept as in the notebook) ---
_A1 = '''
steps = torch.tensor([[0.0, 0.0], [3000.0, -3000.0], [3000.0, 3000.0]], dtype=torch.float64)  # (3, 2)
log_joint_here = torch.as_tensor(two_star_log_joint(grid_mean.unsqueeze(1) + steps, images, psfs, background, prior_loc,
                                                    prior_scale), dtype=torch.float64)  # (n, 3)
print("image 0: log p(x, f) at the posterior mean, there + (3000, -3000) and there + (3000, 3000):",
      log_joint_here[0].numpy().round(1))
'''
_B1 = '''
entropy_full_rank = torch.as_tensor(gaussian_entropy(full_rank_1.scale_tril), dtype=torch.float64)  # (n,)
entropy_mean_field = torch.as_tensor(gaussian_entropy(mean_field_1.scale_tril), dtype=torch.float64)  # (n,)
print("entropy in nats, full-rank q:", entropy_full_rank.numpy().round(3), " mean-field q:", entropy_mean_field.numpy().round(3))
'''
_B2 = '''
mine_mean, mine_tril = (torch.as_tensor(v, dtype=torch.float64)
                        for v in fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, seed=1))
mine_cov = mine_tril @ mine_tril.transpose(1, 2)  # (n, 2, 2)
mine_sd = mine_cov.diagonal(dim1=1, dim2=2).sqrt()  # (n, 2)
mine_corr = mine_cov[:, 0, 1] / mine_sd.prod(-1)  # (n,)
print(f"your q / the grid: SDs {(mine_sd / grid_sd).min():.3f} to {(mine_sd / grid_sd).max():.3f}; "
      f"means off by at most {((mine_mean - grid_mean) / grid_sd).abs().max():.3f} posterior SDs")
print(f"correlations, yours: {mine_corr.numpy().round(3)}; the grid's: {grid_corr.numpy().round(3)}")
'''
_C1 = '''
log_w_mean_field = course.log_weights(course.TwoStarLogJoint(data), mean_field_1, 10_000, seed=2)  # (n, 10000)
print("mean-field q, image 0: IW_K for K = 1, 10, 100, 1000:",
      [round(float(torch.as_tensor(importance_weighted_bound(log_w_mean_field, K), dtype=torch.float64)[0]), 3) for K in (1, 10, 100, 1000)])
'''
_C2 = '''
ess_mean_field = torch.as_tensor(effective_sample_size(log_w_mean_field), dtype=torch.float64)  # (n,)
print("mean-field q: ESS of 10,000 draws, each image:", ess_mean_field.numpy().round(0))
'''

# the loop of exercise B2, with the parameterisation of q, its entropy and its constraint left as {slots}
_B2_LOOP = '''def fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, iterations=1000, num_samples=32, lr=0.05, seed=0):
    n = images.shape[0]
    rng = torch.Generator().manual_seed(seed)
    z_mean = torch.zeros(n, 2, dtype=torch.float64, requires_grad=True)
    log_diag = torch.zeros(n, 2, dtype=torch.float64, requires_grad=True)
    lower = torch.zeros(n, 2, 2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([z_mean, log_diag, lower], lr=lr)
    schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.01, total_iters=iterations)
    for _ in range(iterations):
        tril = prior_scale * (torch.diag_embed(log_diag.exp()) + {lower})
        mean = prior_loc + prior_scale * z_mean
        eps = torch.randn(n, num_samples, 2, generator=rng, dtype=torch.float64)
        flux = mean.unsqueeze(1) + eps @ tril.transpose(1, 2)
        loss = -two_star_log_joint(flux, images, psfs, background, prior_loc, prior_scale).mean(1){entropy}
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
        schedule.step()
    tril = prior_scale * (torch.diag_embed(log_diag.exp()) + {lower})
    return (prior_loc + prior_scale * z_mean).detach(), tril.detach()
'''

DELEGATED_B2 = "the engine's course.fit_gaussian_vi called for the loop"

EQUIVALENT = {
    "a1_answer": [
        ("the Poisson log-density written out, negative fluxes masked with where", '''def two_star_log_joint(flux, images, psfs, background, prior_loc, prior_scale):
    flux = torch.as_tensor(flux).double()
    bright = torch.where(flux > 0, flux, torch.zeros_like(flux))
    x = images.double().flatten(1).unsqueeze(1)  # (n, 1, P)
    rate = background + bright[..., :1] * psfs[0].double().flatten() + bright[..., 1:] * psfs[1].double().flatten()
    log_lik = (x * rate.log() - rate - torch.lgamma(x + 1)).sum(-1)
    z = (flux - prior_loc) / prior_scale
    return log_lik - 0.5 * (z ** 2).sum(-1) - 2 * math.log(prior_scale) - math.log(2 * math.pi)
''' + _A1),
        ("einsum over the pixel grid, the prior one star at a time", '''def two_star_log_joint(flux, images, psfs, background, prior_loc, prior_scale):
    flux = flux.to(torch.float64)
    rate = background + torch.einsum("nsk,khw->nshw", flux.clamp(min=0), psfs.to(torch.float64))
    log_lik = Poisson(rate).log_prob(images.to(torch.float64).unsqueeze(1)).sum((-1, -2))
    prior = Normal(torch.tensor(prior_loc, dtype=torch.float64), torch.tensor(prior_scale, dtype=torch.float64))
    return log_lik + prior.log_prob(flux[..., 0]) + prior.log_prob(flux[..., 1])
''' + _A1),
    ],
    "b1_answer": [
        ("half the log-determinant of the covariance", '''def gaussian_entropy(scale_tril):
    d = scale_tril.shape[-1]
    return 0.5 * torch.logdet(scale_tril @ scale_tril.transpose(-1, -2)) + 0.5 * d * (1 + math.log(2 * math.pi))
''' + _B1),
        ("float32, a log of the product of the diagonal", '''def gaussian_entropy(scale_tril):
    L = scale_tril.float()
    d = L.shape[-1]
    return torch.diagonal(L, dim1=-2, dim2=-1).prod(-1).log() + d * math.log(math.sqrt(2 * math.pi * math.e))
''' + _B1),
    ],
    "b2_answer": [
        ("torch.distributions: rsample and the entropy of a MultivariateNormal", '''def fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, iterations=1000, num_samples=32, lr=0.05, seed=0):
    from torch.distributions import MultivariateNormal
    torch.manual_seed(seed)  # rsample draws from the global generator
    n = images.shape[0]
    z = torch.zeros(n, 2, dtype=torch.float64, requires_grad=True)
    raw = torch.zeros(n, 3, dtype=torch.float64, requires_grad=True)  # log L11, L21, log L22
    opt = torch.optim.Adam([z, raw], lr=lr)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.01, total_iters=iterations)

    def q():
        zero = torch.zeros(n, dtype=torch.float64)
        L = torch.stack([torch.stack([raw[:, 0].exp(), zero], -1), torch.stack([raw[:, 1], raw[:, 2].exp()], -1)], -2)
        return MultivariateNormal(prior_loc + prior_scale * z, scale_tril=prior_scale * L)

    for step in range(iterations):
        dist = q()
        f = dist.rsample((num_samples,)).transpose(0, 1)  # (n, S, 2)
        loss = -(two_star_log_joint(f, images, psfs, background, prior_loc, prior_scale).mean(1) + dist.entropy()).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    dist = q()
    return dist.loc.detach(), dist.scale_tril.detach()
''' + _B2),
        ("a softplus diagonal, one Cholesky factor per image in a list", '''def fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, iterations=1000, num_samples=32, lr=0.05, seed=0):
    n = images.shape[0]
    gen = torch.Generator().manual_seed(seed)
    m = torch.zeros(n, 2, dtype=torch.float64, requires_grad=True)
    a = torch.full((n, 2), math.log(math.e - 1), dtype=torch.float64, requires_grad=True)  # softplus(a) = 1
    b = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([m, a, b], lr=lr)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.01, total_iters=iterations)

    def factor():
        diag = torch.nn.functional.softplus(a)
        zero = torch.zeros((), dtype=torch.float64)
        return torch.stack([torch.stack([torch.stack([diag[i, 0], zero]), torch.stack([b[i], diag[i, 1]])])
                            for i in range(n)]) * prior_scale

    for _ in range(iterations):
        L = factor()
        eps = torch.randn(n, num_samples, 2, generator=gen, dtype=torch.float64)
        f = prior_loc + prior_scale * m[:, None, :] + torch.einsum("nab,nsb->nsa", L, eps)
        neg_elbo = -two_star_log_joint(f, images, psfs, background, prior_loc, prior_scale).mean(1) - gaussian_entropy(L)
        opt.zero_grad()
        neg_elbo.sum().backward()
        opt.step()
        sched.step()
    return (prior_loc + prior_scale * m).detach(), factor().detach()
''' + _B2),
        # correct, but the engine's fitting function does the work: full marks (points are the instructor's call), and
        # grading.delegation names it in the report and below the cell (tests/test_grading_two_stars.py)
        (DELEGATED_B2, '''def fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, iterations=1000, num_samples=32, lr=0.05, seed=0):
    prior = Normal(torch.tensor(prior_loc, dtype=torch.float64), torch.tensor(prior_scale, dtype=torch.float64))
    log_joint = lambda f: two_star_log_joint(f, images, psfs, background, prior_loc, prior_scale)
    fit = course.fit_gaussian_vi(log_joint, prior, images.shape[0], family="full_rank", lr=lr, iterations=iterations,
                                 num_samples=num_samples, seed=seed)
    return fit.q.mean, fit.q.scale_tril
''' + _B2),
    ],
    "c1_answer": [
        ("a loop over the groups", '''def importance_weighted_bound(log_w, K):
    groups = [torch.logsumexp(log_w[:, g * K:(g + 1) * K], 1) - math.log(K) for g in range(log_w.shape[1] // K)]
    return torch.stack(groups, 1).mean(1)
''' + _C1),
        ("numpy, the largest log weight of each group taken out", '''def importance_weighted_bound(log_w, K):
    import numpy as np
    lw = np.asarray(log_w, dtype=np.float64)
    G = lw.shape[1] // K
    groups = lw[:, :G * K].reshape(lw.shape[0], G, K)
    top = groups.max(-1, keepdims=True)
    return (np.log(np.exp(groups - top).mean(-1)) + top[..., 0]).mean(-1)
''' + _C1),
    ],
    "c2_answer": [
        ("numpy, weights scaled by the largest", '''def effective_sample_size(log_w):
    import numpy as np
    lw = np.asarray(log_w, dtype=np.float64)
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    return w.sum(1) ** 2 / (w ** 2).sum(1)
''' + _C2),
        ("float32 self-normalised weights, a list", '''def effective_sample_size(log_w):
    p = torch.softmax(log_w.float(), dim=1)
    return [float(1 / (row ** 2).sum()) for row in p]
''' + _C2),
    ],
}

MUTANTS = {
    "a1_answer": [
        (name, "def two_star_log_joint(flux, images, psfs, background, prior_loc, prior_scale):\n"
               "    flux = torch.as_tensor(flux, dtype=torch.float64)\n"
               f"    light = {light} @ psfs.to(torch.float64).reshape(2, -1)\n"
               "    counts = images.to(torch.float64).reshape(images.shape[0], 1, -1)\n"
               f"    log_lik = {log_lik}\n"
               f"    return log_lik + {prior}\n" + _A1, {"a1_test"})
        for name, light, log_lik, prior in [
            ("negative fluxes give negative light", "flux", "Poisson(background + light).log_prob(counts).sum(-1)",
             "Normal(prior_loc, prior_scale).log_prob(flux).sum(-1)"),
            ("no log x!", "flux.clamp(min=0)", "(counts * (background + light).log() - background - light).sum(-1)",
             "Normal(prior_loc, prior_scale).log_prob(flux).sum(-1)"),
            ("the first star's prior only", "flux.clamp(min=0)", "Poisson(background + light).log_prob(counts).sum(-1)",
             "Normal(prior_loc, prior_scale).log_prob(flux[..., 0])"),
        ]
    ],
    "b1_answer": [
        (name, f"def gaussian_entropy(scale_tril):\n    d = scale_tril.shape[-1]\n    return {ret}\n" + _B1, {"b1_test"})
        for name, ret in [
            ("no constant", "scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)"),
            ("two dimensions hard-coded", "scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + math.log(2 * math.pi * math.e)"),
            ("log det of the covariance, not of L", "2 * scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + d / 2 * math.log(2 * math.pi * math.e)"),
        ]
    ],
    "b2_answer": [
        ("mean-field: the entries below the diagonal never used", _B2_LOOP.format(lower="0 * lower", entropy=" - gaussian_entropy(tril)") + _B2, {"b2_test"}),
        ("no entropy: q collapses onto the mode", _B2_LOOP.format(lower="lower.tril(-1)", entropy="") + _B2, {"b2_test"}),
        ("the prior, unfitted", '''def fit_full_rank_vi(images, psfs, background, prior_loc, prior_scale, iterations=1000, num_samples=32, lr=0.05, seed=0):
    n = images.shape[0]
    return torch.full((n, 2), prior_loc, dtype=torch.float64), prior_scale * torch.eye(2, dtype=torch.float64).repeat(n, 1, 1)
''' + _B2, {"b2_test"}),
    ],
    "c1_answer": [
        (name, f"def importance_weighted_bound(log_w, K):\n    n, S = log_w.shape\n    groups = log_w[:, : S // K * K].reshape(n, S // K, K)\n    return {ret}\n" + _C1, {"c1_test"})
        for name, ret in [
            ("K ignored: the ELBO", "log_w.mean(1)"),
            ("the log of the sum, not the mean (no - log K)", "torch.logsumexp(groups, -1).mean(-1)"),
            ("exponentials that underflow", "groups.exp().mean(-1).log().mean(-1)"),
        ]
    ],
    "c2_answer": [
        (name, f"def effective_sample_size(log_w):\n    return {ret}\n" + _C2, {"c2_test"})
        for name, ret in [
            ("exponentials that underflow or overflow", "log_w.exp().sum(1) ** 2 / log_w.exp().square().sum(1)"),
            ("a fraction of the draws, not a number of them", "(2 * torch.logsumexp(log_w, 1) - torch.logsumexp(2 * log_w, 1)).exp() / log_w.shape[1]"),
            ("the sum of the weights over the largest", "(torch.logsumexp(log_w, 1) - log_w.max(1).values).exp()"),
        ]
    ],
}
