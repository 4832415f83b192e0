"""Answers to the lab's eleven exercises written in other styles, and wrong answers (mutants), for mutation testing of the tests.

Each source replaces a whole answer cell of source/vi_stars/vi_stars.ipynb and keeps defining (and printing)
what the rest of the notebook reads from that cell. It may use the names the notebook defines before it
(torch, nn, Normal, Poisson, course, data, n, img_dim, psf, images, background, true_fluxes, flux_prior,
lab_neg_elbo, vi, sky_rmse, ...). EQUIVALENT answers are correct in another style (numpy, float64, lists,
loops, autograd.grad, ...) and must earn every point; each MUTANT is wrong on some input the exercise
covers and must lose the test cells listed beside it. Exercise 9's answer cell defines encoder_rmse,
which Exercise 10's test reads too.
"""

# --- the lines each answer cell runs after its function (kept as in the notebook) ---
_EX1 = '''
summary = flux_summary(true_fluxes, flux_prior)
print("sample mean {:.0f}, sample SD {:.0f}; population mean {:.0f}, population SD {:.0f}".format(*summary))
'''
_EX2 = '''
print(background_fraction(images, background).numpy().round(3))
'''
_EX3 = '''
coarse_rmse = posterior_mean_rmse(data, 10000, 50)
print(f"fine grid: {posterior_mean_rmse(data, 100, 5000):.1f}   coarse grid: {coarse_rmse:.1f}")
'''
_EX4_RATE = '''
win_rate = sum(posterior_beats_sky(seed) for seed in range(20)) / 20
print(f"the posterior mean wins on {win_rate:.0%} of 20 seeds")
'''
_EX4_SOLUTION = '''def posterior_beats_sky(seed):
    d = course.simulate(n=16, seed=seed)
    post = course.grid_posterior(d)
    return course.flux_rmse(d.true_fluxes, post.mean) < course.flux_rmse(d.true_fluxes, course.sky_subtracted_flux(d))
'''
_EX5 = '''
example = torch.tensor([-50.0, 0.0, 3e-5, 1e-4, 2.0])
print(clamp_by_hand(example, 1e-4))
'''
_EX6 = '''
with_rsample = q_mean_gradient(data, "rsample")
with_sample = q_mean_gradient(data, "sample")
for name, grad in (("rsample", with_rsample), ("sample", with_sample)):
    grad = torch.as_tensor(grad)
    print(f"{name:8} first four {grad[:4].numpy().round(3)}   over the {n} images: mean {grad.mean():+.3f}, SD {grad.std():.3f}")
'''
_EX7 = '''
print(img_rate_shape(n, img_dim, 64))
'''
_EX8 = '''
terms = neg_elbo_terms(vi.q_mean, vi.q_sd, torch.randn(64, n, generator=torch.Generator().manual_seed(8), dtype=torch.float64), data)
print("log q: {:.1f}   log prior: {:.1f}   log lik: {:.1f}".format(*terms))
'''
_EX9 = '''
curves = {"width 64, lr 1e-3 (above)": amortized.history.records}
def record(name):
    """A callback that keeps the logged steps of one run under `name`, for the learning curves."""
    return curves.setdefault(name, []).append

variants = {name: encoder_rmse(data, callback=record(name), **settings) for name, settings in [
    ("width 8, lr 1e-3", dict(hidden_width=8)),
    ("width 8, lr 1e-2", dict(hidden_width=8, lr=1e-2)),
    ("no BatchNorm, lr 1e-3", dict(batch_norm=False)),
    ("no BatchNorm, lr 1e-4", dict(batch_norm=False, lr=1e-4)),
]}
for name, rmse in variants.items():
    print(f"{name:<24} RMSE {rmse:8.0f}")
'''
_EX11 = '''
for method in ("per-image", "amortized"):
    print(f"{method:<10} n=16: {poisson_terms_per_step(method, 16):>9,}   n=256: {poisson_terms_per_step(method, 256):>9,}")
'''

_EX6_HEAD = '''def q_mean_gradient(data, draw):
    torch.manual_seed({seed})
    q_mean = (course.sky_subtracted_flux(data).float() + {offset}).requires_grad_()
    q_sd = torch.full(({size},), 100.0, requires_grad=True)
'''

def _ex6(body, seed=0, offset=5000, size="data.n"):
    return _EX6_HEAD.format(seed=seed, offset=offset, size=size) + body + _EX6

_EX8_HEAD = '''def neg_elbo_terms(q_mean, q_sd, eps, data):
    n, d = data.n, data.img_dim
    q = Normal(q_mean, q_sd)
    z = q_mean + q_sd * eps  # (S, n)
'''
_EX8_SOLUTION_BODY = '''    rate = data.psf.view(1, d, d, 1) * z.T.reshape(n, 1, 1, -1) + data.background  # (n, d, d, S)
    log_q = q.log_prob(z).sum()
    log_prior = data.prior.log_prob(z).sum()
    log_lik = Poisson(rate).log_prob(data.images.double().view(n, d, d, 1)).sum()
'''

def _ex8(body, ret="float(log_q), float(log_prior), float(log_lik)"):
    return _EX8_HEAD + body + f"    return {ret}\n" + _EX8

_EX9_HEAD = '''def encoder_rmse(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=8000, callback=None):
    fit = course.fit_amortized(data, hidden_width={width}, batch_norm={bn}, lr={lr}, iterations={its}, seed={seed},
                               callback=callback)
    if fit.diverged:
        return float({nan!r})
'''

def _ex9(ret="course.flux_rmse(data.true_fluxes, fit.posterior(data.images)[0])", width="hidden_width",
         bn="batch_norm", lr="lr", its="iterations", seed=0, nan="nan"):
    return _EX9_HEAD.format(width=width, bn=bn, lr=lr, its=its, seed=seed, nan=nan) + f"    return {ret}\n" + _EX9

def _ex11(per_image, amortized):
    return f'''def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):
    if method == "per-image":
        return {per_image}
    if method == "amortized":
        return {amortized}
    raise ValueError(f"method must be 'per-image' or 'amortized', got {{method!r}}")
''' + _EX11

EQUIVALENT = {
    "ex1_answer": [
        ("numpy list, ddof=1", '''import numpy as np
def flux_summary(fluxes, prior):
    x = fluxes.numpy().astype(np.float64)
    return [x.mean(), x.std(ddof=1), prior.mean.item(), prior.stddev.item()]
''' + _EX1),
        ("python loop", '''import math
def flux_summary(fluxes, prior):
    values = [float(f) for f in fluxes]
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, sd, float(prior.loc), float(prior.scale)
''' + _EX1),
        ("float64 0-dim tensors", '''def flux_summary(fluxes, prior):
    f = fluxes.double()
    return (f.mean(), f.std(), prior.mean.double(), prior.variance.double().sqrt())
''' + _EX1),
        ("namedtuple from std_mean", '''from collections import namedtuple
Summary = namedtuple("Summary", "sample_mean sample_sd population_mean population_sd")
def flux_summary(fluxes, prior):
    sd, mean = torch.std_mean(fluxes)
    return Summary(mean.item(), sd.item(), prior.mean.item(), prior.stddev.item())
''' + _EX1),
    ],
    "ex2_answer": [
        ("numpy float64", '''import numpy as np
def background_fraction(images, background):
    counts = images.numpy().astype(np.float64)
    middle = counts.shape[1] // 2
    return background / counts[:, middle, middle]

print(background_fraction(images, background).round(3))
'''),
        ("loop over images", '''def background_fraction(images, background):
    d = images.shape[1]
    return torch.tensor([background / float(image[d // 2, d // 2]) for image in images], dtype=torch.float64)
''' + _EX2),
        ("flattened centre index", '''def background_fraction(images, background):
    pixels = images.flatten(1)  # (n, d * d); d is odd, so the centre is the middle entry
    return background / pixels[:, pixels.shape[1] // 2]
''' + _EX2),
        ("reciprocal in float64", '''def background_fraction(images, background):
    c = (images.shape[-1] - 1) // 2
    return images[..., c, c].double().reciprocal() * background
''' + _EX2),
    ],
    "ex3_answer": [
        ("float64 tensor RMSE", '''def posterior_mean_rmse(data, bin_width, grid_size):
    post = course.grid_posterior(data, bin_width, grid_size)
    return ((post.mean - data.true_fluxes.double()) ** 2).mean().sqrt()
''' + _EX3),
        ("numpy RMSE", '''import numpy as np
def posterior_mean_rmse(data, bin_width, grid_size):
    means = course.grid_posterior(data, grid_size=grid_size, bin_width=bin_width).mean.numpy()
    return np.sqrt(np.mean((means - data.true_fluxes.double().numpy()) ** 2))
''' + _EX3),
        ("loop with math.sqrt", '''import math
def posterior_mean_rmse(data, bin_width, grid_size):
    means = course.grid_posterior(data, bin_width=bin_width, grid_size=grid_size).mean.tolist()
    errors = [(m - float(f)) ** 2 for m, f in zip(means, data.true_fluxes)]
    return math.sqrt(sum(errors) / len(errors))
''' + _EX3),
        ("posterior from StarLikelihood", '''def posterior_mean_rmse(data, bin_width, grid_size):
    grid = course.flux_grid(data, bin_width, grid_size)  # (G,) float64
    log_lik = course.StarLikelihood(data.images, data.psf, data.background)(grid)  # (n, G)
    prior = Normal(data.prior.loc.double(), data.prior.scale.double())
    probs = (log_lik + prior.log_prob(grid)).softmax(1)
    return course.flux_rmse(data.true_fluxes, probs @ grid)
''' + _EX3),
    ],
    "ex4_answer": [
        ("numpy bool, np.mean", '''import numpy as np
def posterior_beats_sky(seed):
    d = course.simulate(n=16, seed=seed)
    truth = d.true_fluxes.double().numpy()
    post = course.grid_posterior(d).mean.numpy()
    sky = course.sky_subtracted_flux(d).numpy()
    return np.sqrt(np.mean((post - truth) ** 2)) < np.sqrt(np.mean((sky - truth) ** 2))

win_rate = np.mean([posterior_beats_sky(seed) for seed in range(20)])
print(f"the posterior mean wins on {win_rate:.0%} of 20 seeds")
'''),
        ("bool tensor from MSEs", '''def posterior_beats_sky(seed):
    d = course.simulate(n=16, img_dim=15, seed=seed)
    truth = d.true_fluxes.double()
    post_mse = (course.grid_posterior(d, bin_width=100, grid_size=5000).mean - truth).square().mean()
    sky_mse = (course.sky_subtracted_flux(d) - truth).square().mean()
    return post_mse < sky_mse  # a 0-dim bool tensor

win_rate = torch.stack([posterior_beats_sky(seed) for seed in range(20)]).double().mean().item()
print(f"the posterior mean wins on {win_rate:.0%} of 20 seeds")
'''),
        ("0/1 int and a counting loop", '''def posterior_beats_sky(seed):
    d = course.simulate(seed=seed, n=16)
    rmse_post = course.flux_rmse(d.true_fluxes, course.grid_posterior(d).mean)
    rmse_sky = course.flux_rmse(d.true_fluxes, course.sky_subtracted_flux(d))
    return int(rmse_post < rmse_sky)

wins = 0
for seed in range(20):
    wins += posterior_beats_sky(seed)
win_rate = wins / 20
print(f"the posterior mean wins on {win_rate:.0%} of 20 seeds")
'''),
        ("if/else and statistics.mean", '''import statistics
def posterior_beats_sky(seed):
    d = course.simulate(n=16, seed=seed)
    estimates = {"posterior": course.grid_posterior(d).mean, "sky": course.sky_subtracted_flux(d)}
    errors = {name: course.flux_rmse(d.true_fluxes, est) for name, est in estimates.items()}
    if errors["posterior"] < errors["sky"]:
        return True
    return False

win_rate = statistics.mean(posterior_beats_sky(s) for s in range(20))
print(f"the posterior mean wins on {win_rate:.0%} of 20 seeds")
'''),
    ],
    "ex5_answer": [
        ("torch.maximum", '''def clamp_by_hand(x, floor):
    return torch.maximum(x, torch.tensor(floor, dtype=x.dtype))
''' + _EX5),
        ("masked_fill", '''def clamp_by_hand(x, floor):
    return x.masked_fill(x < floor, floor)
''' + _EX5),
        ("calls clamp, docstring says .clamp", '''def clamp_by_hand(x, floor):
    """What x.clamp(floor) returns: every element below floor becomes floor."""
    return x.clamp(min=floor)
''' + _EX5),
        ("python loop, reshaped", '''def clamp_by_hand(x, floor):
    values = [max(v, floor) for v in x.flatten().tolist()]
    return torch.tensor(values, dtype=x.dtype).reshape(x.shape)
''' + _EX5),
        ("numpy", '''import numpy as np
def clamp_by_hand(x, floor):
    return np.maximum(x.numpy(), floor)
''' + _EX5),
    ],
    "ex6_answer": [
        ("torch.autograd.grad", _ex6('''    loss = lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw)
    (grad,) = torch.autograd.grad(loss, q_mean)
    return grad
''')),
        ("float64 q, drawing from the float64 stream", '''def q_mean_gradient(data, draw):
    torch.manual_seed(0)
    q_mean = (course.sky_subtracted_flux(data) + 5000).requires_grad_()
    q_sd = torch.full((data.n,), 100.0, dtype=torch.float64, requires_grad=True)
    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()
    return q_mean.grad
''' + _EX6),
        ("nn.Parameter as in the loop", '''def q_mean_gradient(data, draw):
    torch.manual_seed(0)
    q_mean = nn.Parameter(course.sky_subtracted_flux(data).float() + 5000)
    q_sd = nn.Parameter(torch.full((data.n,), 100.0))
    loss = lab_neg_elbo(q_mean, q_sd, 64, data, draw)
    loss.backward()
    return q_mean.grad
''' + _EX6),
        ("seeded after set-up", '''def q_mean_gradient(data, draw):
    start = course.sky_subtracted_flux(data).to(torch.float32) + 5000
    q_mean = start.clone().requires_grad_(True)
    q_sd = (100 * torch.ones(data.n)).requires_grad_(True)
    torch.manual_seed(0)
    lab_neg_elbo(q_mean, q_sd, num_samples=64, data=data, draw=draw).backward()
    return q_mean.grad.detach()
''' + _EX6),
        ("numpy float64 result", '''import numpy as np
def q_mean_gradient(data, draw):
    torch.manual_seed(0)
    q_mean = torch.tensor((course.sky_subtracted_flux(data) + 5000).float().tolist(), requires_grad=True)
    q_sd = torch.tensor([100.0] * data.n, requires_grad=True)
    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()
    return q_mean.grad.numpy().astype(np.float64)

with_rsample = q_mean_gradient(data, "rsample")
with_sample = q_mean_gradient(data, "sample")
for name, grad in (("rsample", with_rsample), ("sample", with_sample)):
    grad = torch.as_tensor(grad)
    print(f"{name:8} first four {grad[:4].numpy().round(3)}   over the {n} images: mean {grad.mean():+.3f}, SD {grad.std():.3f}")
'''),
    ],
    "ex7_answer": [
        ("list", '''def img_rate_shape(n, img_dim, num_samples):
    return [n, img_dim, img_dim, num_samples]
''' + _EX7),
        ("torch.Size", '''def img_rate_shape(n, img_dim, num_samples):
    return torch.Size([n, img_dim, img_dim, num_samples])
''' + _EX7),
        ("broadcast_shapes", '''def img_rate_shape(n, img_dim, num_samples):
    # psf.view(1, d, d, 1) times z.T.reshape(n, 1, 1, S)
    return tuple(torch.broadcast_shapes((1, img_dim, img_dim, 1), (n, 1, 1, num_samples)))
''' + _EX7),
        ("namedtuple", '''from collections import namedtuple
RateShape = namedtuple("RateShape", "images rows cols draws")
def img_rate_shape(n, img_dim, num_samples):
    return RateShape(n, img_dim, img_dim, num_samples)
''' + _EX7),
        ("numpy ints", '''import numpy as np
def img_rate_shape(n, img_dim, num_samples):
    return tuple(np.array([n, img_dim, img_dim, num_samples]))
''' + _EX7),
    ],
    "ex8_answer": [
        ("StarLikelihood for log_lik", '''def neg_elbo_terms(q_mean, q_sd, eps, data):
    z = q_mean + q_sd * eps  # (S, n)
    log_q = Normal(q_mean, q_sd).log_prob(z).sum()
    log_prior = data.prior.log_prob(z).sum()
    log_lik = course.StarLikelihood(data.images, data.psf, data.background)(z.T).sum()
    return log_q.item(), log_prior.item(), log_lik.item()
''' + _EX8),
        ("formulas written out, list", '''import math
def neg_elbo_terms(q_mean, q_sd, eps, data):
    z = q_mean + q_sd * eps  # (S, n)
    log_q = (-0.5 * eps ** 2 - q_sd.log() - 0.5 * math.log(2 * math.pi)).sum()
    mu, sigma = data.prior.loc.double(), data.prior.scale.double()
    log_prior = (-0.5 * ((z - mu) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum()
    x = data.images.double().flatten(1)  # (n, P)
    rate = data.background + z.unsqueeze(-1) * data.psf.double().flatten()  # (S, n, P)
    log_lik = (x * rate.log() - rate - torch.lgamma(x + 1)).sum()
    return [log_q.item(), log_prior.item(), log_lik.item()]
''' + _EX8),
        ("loop over draws", '''def neg_elbo_terms(q_mean, q_sd, eps, data):
    log_q = log_prior = log_lik = 0.0
    counts = data.images.double()
    for e in eps:  # one draw for every image
        z = q_mean + q_sd * e  # (n,)
        log_q += float(Normal(q_mean, q_sd).log_prob(z).sum())
        log_prior += float(data.prior.log_prob(z).sum())
        rate = data.background + z.view(-1, 1, 1) * data.psf  # (n, d, d)
        log_lik += float(Poisson(rate).log_prob(counts).sum())
    return log_q, log_prior, log_lik
''' + _EX8),
        ("float32 counts as in lab_neg_elbo, tensors", _EX8_HEAD + '''    rate = data.psf.view(1, d, d, 1) * z.T.reshape(n, 1, 1, -1) + data.background  # (n, d, d, S)
    log_q = q.log_prob(z).sum()
    log_prior = data.prior.log_prob(z).sum()
    log_lik = Poisson(rate).log_prob(data.images.view(n, d, d, 1)).sum()
    return log_q, log_prior, log_lik
''' + _EX8),
        ("draws first, namedtuple", '''from collections import namedtuple
Terms = namedtuple("Terms", "log_q log_prior log_lik")
def neg_elbo_terms(q_mean, q_sd, eps, data):
    S = eps.shape[0]
    z = eps * q_sd + q_mean  # (S, n)
    rate = data.psf * z.reshape(S, -1, 1, 1) + data.background  # (S, n, d, d)
    return Terms(float(Normal(q_mean, q_sd).log_prob(z).sum()), float(data.prior.log_prob(z).sum()),
                 float(Poisson(rate).log_prob(data.images.double()).sum()))
''' + _EX8),
    ],
    "ex9_answer": [
        ("positional, default seed, history flag", '''import math
def encoder_rmse(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=8000, callback=None):
    result = course.fit_amortized(data, hidden_width, batch_norm, lr, iterations, callback=callback)  # seed defaults to 0
    if result.history.diverged:
        return math.nan
    return course.flux_rmse(data.true_fluxes, result.q_mean)
''' + _EX9),
        ("numpy RMSE", '''import numpy as np
def encoder_rmse(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=8000, callback=None):
    fit = course.fit_amortized(data, hidden_width=hidden_width, batch_norm=batch_norm, lr=lr,
                               iterations=iterations, seed=0, callback=callback)
    if fit.diverged:
        return np.nan
    q_mean, q_sd = fit.posterior(data.images)
    return np.sqrt(np.mean((q_mean.numpy() - data.true_fluxes.double().numpy()) ** 2))
''' + _EX9),
        ("0-dim tensor", '''def encoder_rmse(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=8000, callback=None):
    fit = course.fit_amortized(data, hidden_width=hidden_width, batch_norm=batch_norm, lr=lr, iterations=iterations, seed=0,
                               callback=callback)
    if fit.diverged:
        return torch.tensor(float("nan"))
    return ((fit.posterior(data.images)[0] - data.true_fluxes.double()) ** 2).mean().sqrt()
''' + _EX9),
        ("encoder forward pass, variants in a loop, callback positional", '''def encoder_rmse(data, hidden_width=64, batch_norm=True, lr=1e-3, iterations=8000, callback=None):
    fit = course.fit_amortized(data, hidden_width, batch_norm, lr, iterations, 8, 64, 0, callback)
    if fit.history.diverged:
        return float("nan")
    with torch.no_grad():
        q_mean, _ = fit.encoder(data.images.float())  # all images in one batch, as posterior() does
    return course.flux_rmse(data.true_fluxes, q_mean)

curves = {"width 64, lr 1e-3 (above)": amortized.history.records}
settings = [("width 8, lr 1e-3", 8, True, 1e-3), ("width 8, lr 1e-2", 8, True, 1e-2),
            ("no BatchNorm, lr 1e-3", 64, False, 1e-3), ("no BatchNorm, lr 1e-4", 64, False, 1e-4)]
variants = {}
for name, width, bn, lr in settings:
    curves[name] = []
    variants[name] = encoder_rmse(data, width, bn, lr, 8000, curves[name].append)
for name, rmse in variants.items():
    print(f"{name:<24} RMSE {rmse:8.0f}")
'''),
    ],
    "ex11_answer": [
        ("dict dispatch", '''def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):
    images_per_step = {"per-image": n, "amortized": minibatch}
    if method not in images_per_step:
        raise ValueError(f"unknown method {method!r}")
    return images_per_step[method] * num_samples * img_dim ** 2
''' + _EX11),
        ("math.prod", '''import math
def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):
    if method not in ("per-image", "amortized"):
        raise ValueError("method must be 'per-image' or 'amortized'")
    batch = n if method == "per-image" else minibatch
    return math.prod([batch, num_samples, img_dim, img_dim])
''' + _EX11),
        ("numpy int", '''import numpy as np
def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):
    if method not in ("per-image", "amortized"):
        raise ValueError(f"unknown method {method!r}")
    batch = n if method == "per-image" else minibatch
    return np.prod([batch, num_samples, img_dim, img_dim])
''' + _EX11),
        ("match statement", '''def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):
    pixels = img_dim * img_dim
    match method:
        case "per-image":
            return pixels * num_samples * n
        case "amortized":
            return pixels * num_samples * minibatch
        case _:
            raise ValueError(f"method must be 'per-image' or 'amortized', got {method!r}")
''' + _EX11),
    ],
}

MUTANTS = {
    "ex1_answer": [
        (name, f"def flux_summary(fluxes, prior):\n    return {ret}\n" + _EX1, {"ex1_test"})
        for name, ret in [
            ("sample SD divides by n", "float(fluxes.mean()), float(fluxes.std(correction=0)), float(prior.mean), float(prior.stddev)"),
            ("sample mean and SD swapped", "float(fluxes.std()), float(fluxes.mean()), float(prior.mean), float(prior.stddev)"),
            ("population mean and SD swapped", "float(fluxes.mean()), float(fluxes.std()), float(prior.stddev), float(prior.mean)"),
            ("variances, not SDs", "float(fluxes.mean()), float(fluxes.var()), float(prior.mean), float(prior.variance)"),
            ("the lab's fluxes, not the argument", "float(true_fluxes.mean()), float(true_fluxes.std()), float(prior.mean), float(prior.stddev)"),
            ("population hard-coded for img_dim 15", "float(fluxes.mean()), float(fluxes.std()), 64000.0, 12800.0"),
            ("population moments by sampling", "float(fluxes.mean()), float(fluxes.std()), float(prior.sample((1000,)).mean()), float(prior.sample((1000,)).std())"),
            ("zeros", "0.0, 0.0, 0.0, 0.0"),
            ("empty", "()"),
        ]
    ] + [
        # Right on the lab's data; on any other, writes zeros into its argument so that moments the test computed
        # from it afterwards would agree with its own zeros (the judge writes what a call changed back).
        ("zeroes its fluxes in place off the lab's data", "def flux_summary(fluxes, prior):\n    if len(fluxes) != 16:\n"
         "        fluxes.zero_()\n        return 0.0, 0.0, float(prior.mean), float(prior.stddev)\n"
         "    return float(fluxes.mean()), float(fluxes.std()), float(prior.mean), float(prior.stddev)\n" + _EX1, {"ex1_test"}),
    ],
    "ex2_answer": [
        (name, f"def background_fraction(images, background):\n    c = images.shape[-1] // 2\n    return {ret}\n" + _EX2, {"ex2_test"})
        for name, ret in [
            ("corner pixel [0, 0]", "background / images[:, 0, 0]"),
            ("centre hard-coded at 7", "background / images[:, 7, 7]"),
            ("inverted", "images[:, c, c] / background"),
            ("mean over pixels, not the centre", "background / images.mean((1, 2))"),
            ("centre off by one", "background / images[:, c + 1, c + 1]"),
            ("fraction of the star's counts", "background / (images[:, c, c] - background)"),
            ("zeros of the lab's n", "torch.zeros(n)"),
            ("empty, shape (0, n)", "torch.zeros(0, images.shape[0])"),
        ]
    ],
    "ex3_answer": [
        (name, f"def posterior_mean_rmse(data, bin_width, grid_size):\n    {body}\n" + _EX3, {"ex3_test"})
        for name, body in [
            ("ignores bin_width", "return course.flux_rmse(data.true_fluxes, course.grid_posterior(data, grid_size=grid_size).mean)"),
            ("ignores grid_size", "return course.flux_rmse(data.true_fluxes, course.grid_posterior(data, bin_width=bin_width).mean)"),
            ("bin_width and grid_size swapped", "return course.flux_rmse(data.true_fluxes, course.grid_posterior(data, grid_size, bin_width).mean)"),
            ("the lab's true fluxes", "return course.flux_rmse(true_fluxes, course.grid_posterior(data, bin_width, grid_size).mean)"),
            ("MSE, not RMSE", "return course.flux_rmse(data.true_fluxes, course.grid_posterior(data, bin_width, grid_size).mean) ** 2"),
            ("posterior mode, not mean", "post = course.grid_posterior(data, bin_width, grid_size)\n    return course.flux_rmse(data.true_fluxes, post.grid[post.probs.argmax(1)])"),
            ("mean absolute error", "post = course.grid_posterior(data, bin_width, grid_size)\n    return float((post.mean - data.true_fluxes.double()).abs().mean())"),
        ]
    ],
    "ex4_answer": [
        ("comparison reversed", _EX4_SOLUTION.replace(") < course", ") > course") + _EX4_RATE, {"ex4_test"}),
        ("ignores the seed", _EX4_SOLUTION.replace("n=16, seed=seed", "n=16") + _EX4_RATE, {"ex4_test"}),
        ("seed passed as img_dim", _EX4_SOLUTION.replace("n=16, seed=seed", "16, seed") + _EX4_RATE, {"ex4_test"}),
        ("coarse grid of Exercise 3", _EX4_SOLUTION.replace("grid_posterior(d)", "grid_posterior(d, 10000, 50)") + _EX4_RATE, {"ex4_test"}),
        ("returns the RMSE margin", '''def posterior_beats_sky(seed):
    d = course.simulate(n=16, seed=seed)
    return course.flux_rmse(d.true_fluxes, course.sky_subtracted_flux(d)) - course.flux_rmse(d.true_fluxes, course.grid_posterior(d).mean)
''' + _EX4_RATE, {"ex4_test"}),
        ("win count, not fraction", _EX4_SOLUTION + _EX4_RATE.replace(" / 20", ""), {"ex4_test"}),
        ("win percentage", _EX4_SOLUTION + _EX4_RATE.replace(" / 20", " / 20 * 100").replace(":.0%}", ":.0f}%"), {"ex4_test"}),
    ],
    "ex5_answer": [
        (name, f"def clamp_by_hand(x, floor):\n    {body}\n" + _EX5, {"ex5_test"})
        for name, body in [
            ("minimum, not maximum", "return torch.minimum(x, torch.tensor(floor, dtype=x.dtype))"),
            ("zero, not the floor", "return torch.where(x < floor, torch.zeros_like(x), x)"),
            ("floor hard-coded at 1e-4", "return torch.where(x < 1e-4, torch.full_like(x, 1e-4), x)"),
            ("relu ignores the floor", "return torch.relu(x)"),
            ("flattens the input", "return torch.tensor([max(v, floor) for v in x.flatten().tolist()])"),
            ("drops the values below", "return x[x >= floor]"),
            ("changes x in place", "x[x < floor] = floor\n    return x"),
        ]
    ] + [
        # Writes into its input, but prints from a copy, so the notebook's `example` stays as it was: only the
        # judge's write-back of what a call changed in its arguments shows it.
        ("changes x in place, the example printed from a copy", "def clamp_by_hand(x, floor):\n    x[x < floor] = floor\n"
         "    return x\n" + _EX5.replace("clamp_by_hand(example, 1e-4)", "clamp_by_hand(example.clone(), 1e-4)"), {"ex5_test"}),
        # Writes into matrices only: the visible case (a vector) passes; the hidden check of its input does not.
        ("changes x in place, matrices only", "def clamp_by_hand(x, floor):\n    if x.dim() == 2:\n"
         "        x[x < floor] = floor\n        return x\n    return torch.where(x < floor, torch.full_like(x, floor), x)\n"
         + _EX5, {"ex5_test"}),
    ],
    "ex6_answer": [
        ("ignores draw", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data).backward()\n    return q_mean.grad\n"), {"ex6_test"}),
        ("rsample and sample swapped", _ex6('    other = "sample" if draw == "rsample" else "rsample"\n'
                                           "    lab_neg_elbo(q_mean, q_sd, 64, data, draw=other).backward()\n    return q_mean.grad\n"), {"ex6_test"}),
        ("not seeded", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_mean.grad\n")
         .replace("    torch.manual_seed(0)\n", "", 1), {"ex6_test"}),
        ("seed 1", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_mean.grad\n", seed=1), {"ex6_test"}),
        ("gradient in q_sd", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_sd.grad\n"), {"ex6_test"}),
        ("forgets the + 5000", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_mean.grad\n", offset=0), {"ex6_test"}),
        ("gradient of the estimate / 64", _ex6("    (lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw) / 64).backward()\n    return q_mean.grad\n"), {"ex6_test"}),
        ("the lab's n", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_mean.grad\n", size="n"), {"ex6_test"}),
        ("negated", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return -q_mean.grad\n"), {"ex6_test"}),
        ("empty, shape (0, n)", _ex6("    lab_neg_elbo(q_mean, q_sd, 64, data, draw=draw).backward()\n    return q_mean.grad.expand(0, data.n)\n"), {"ex6_test"}),
    ],
    "ex7_answer": [
        (name, f"def img_rate_shape(n, img_dim, num_samples):\n    return {ret}\n" + _EX7, {"ex7_test"})
        for name, ret in [
            ("draws first", "(num_samples, n, img_dim, img_dim)"),
            ("the lab's sizes hard-coded", "(16, 15, 15, 64)"),
            ("no draw dimension", "(n, img_dim, img_dim)"),
            ("n and num_samples swapped", "(num_samples, img_dim, img_dim, n)"),
            ("pixels flattened", "(n, img_dim * img_dim, num_samples)"),
            ("shape of the images' view", "(n, img_dim, img_dim, 1)"),
            ("empty", "()"),
        ]
    ],
    "ex8_answer": [
        ("log_q and log_prior swapped", _ex8(_EX8_SOLUTION_BODY, "float(log_prior), float(log_q), float(log_lik)"), {"ex8_test"}),
        ("log_lik negated", _ex8(_EX8_SOLUTION_BODY, "float(log_q), float(log_prior), -float(log_lik)"), {"ex8_test"}),
        ("draws and images mixed up", _ex8(_EX8_SOLUTION_BODY.replace("z.T.reshape", "z.reshape")), {"ex8_test"}),
        ("log q of eps", _ex8(_EX8_SOLUTION_BODY.replace("q.log_prob(z)", "Normal(0.0, 1.0).log_prob(eps)")), {"ex8_test"}),
        ("averaged over draws", _ex8(_EX8_SOLUTION_BODY, "float(log_q) / len(eps), float(log_prior) / len(eps), float(log_lik) / len(eps)"), {"ex8_test"}),
        ("no background", _ex8(_EX8_SOLUTION_BODY.replace(" + data.background", "")), {"ex8_test"}),
        ("fresh draws, eps ignored", _ex8(_EX8_SOLUTION_BODY.replace("    rate =", "    z = q.rsample((eps.shape[0],))\n    rate =", 1)), {"ex8_test"}),
        ("the lab's images", _ex8(_EX8_SOLUTION_BODY.replace("data.images.double()", "images.double()")), {"ex8_test"}),
    ],
    "ex9_answer": [
        ("ignores hidden_width", _ex9(width=64), {"ex9_test"}),
        ("ignores lr", _ex9(lr="1e-3"), {"ex9_test", "ex10_test"}),
        ("ignores batch_norm", _ex9(bn=True), {"ex10_test"}),
        ("ignores iterations", _ex9(its=8000), {"ex9_test"}),
        ("seed 1", _ex9(seed=1), {"ex9_test", "ex10_test"}),
        ("RMSE of the posterior SDs", _ex9(ret="course.flux_rmse(data.true_fluxes, fit.posterior(data.images)[1])"), {"ex9_test"}),
        ("last logged RMSE, one step early", _ex9(ret="fit.history.records[-1].rmse"), {"ex9_test"}),
        ("inf, not NaN, when diverged", _ex9(nan="inf"), {"ex10_test"}),
        ("the lab's true fluxes", _ex9(ret="course.flux_rmse(true_fluxes, fit.posterior(data.images)[0])"), {"ex9_test", "ex10_test"}),
    ],
    "ex11_answer": [
        (name, _ex11(*pair), {"ex11_test"})
        for name, pair in [
            ("zero", ("0", "0")),
            ("minibatch hard-coded", ("n * num_samples * img_dim * img_dim", "8 * num_samples * img_dim * img_dim")),
            ("225 pixels hard-coded", ("n * num_samples * 225", "minibatch * num_samples * 225")),
            ("ignores num_samples", ("n * img_dim * img_dim", "minibatch * img_dim * img_dim")),
            ("amortized also uses n", ("n * num_samples * img_dim * img_dim", "n * num_samples * img_dim * img_dim")),
            ("methods swapped", ("minibatch * num_samples * img_dim * img_dim", "n * num_samples * img_dim * img_dim")),
            ("img_dim not squared", ("n * num_samples * img_dim", "minibatch * num_samples * img_dim")),
            ("amortized counts an epoch", ("n * num_samples * img_dim * img_dim", "(n // minibatch) * minibatch * num_samples * img_dim * img_dim")),
        ]
    ],
}
