"""Live explorers for the notebook: move a slider, watch the posterior or the training respond.

Figures are drawn with matplotlib's object API (no pyplot state) into PNG bytes shown by an
ipywidgets Image, so they can be redrawn from the training thread as well as from a slider.
Each explorer's `update`/`run` is what its sliders call; tests and the notebook call it directly.
"""
import io
import math
import threading

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .amortized import fit_amortized
from .grid import grid_posterior
from .likelihood import StarLikelihood
from .metrics import flux_rmse, prior_mean_estimate, sky_subtracted_flux
from .vi import Q_SD_FLOOR, fit_vi

LOG_STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]


def figure(columns):
    """A row of `columns` axes, sized for a notebook output, with a fixed layout (no per-draw layout pass)."""
    fig = Figure(figsize=(10, 2.8), dpi=72)
    axes = fig.subplots(1, columns)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.9, wspace=0.3)
    return fig, list(axes) if columns > 1 else [axes]


def png(fig):
    """Render a matplotlib Figure to PNG bytes (light compression: encoding is a third of a redraw)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def log_slider(description, options, value):
    """A slider over log-spaced values that acts on release only, so dragging never queues work."""
    return widgets.SelectionSlider(
        options=[(f"{v:g}", v) for v in options], value=value, description=description,
        continuous_update=False, style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
    )


def set_quietly(slider, value, observer):
    """Move a slider without calling `observer`, its value observer, for the change."""
    if value not in [v for _, v in slider.options]:
        raise ValueError(f"{slider.description} must be one of {[v for _, v in slider.options]}, got {value!r}")
    slider.unobserve(observer, names="value")
    try:
        slider.value = value
    finally:
        slider.observe(observer, names="value")


class Explorer:
    """Shows its `widget` when it is the value of a notebook cell."""

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)


class GridExplorer(Explorer):
    """Bin width and grid size of the grid posterior (section 2), with its RMSE beside the two baselines."""

    def __init__(self, data, images_shown=3):
        self.data = data
        self.shown = min(images_shown, data.n)
        self.likelihood = StarLikelihood(data.images, data.psf, data.background)  # built once, reused by every update
        self.baselines = (flux_rmse(data.true_fluxes, prior_mean_estimate(data)),
                          flux_rmse(data.true_fluxes, sky_subtracted_flux(data)))
        self.bin_width = log_slider("bin width (flux units)", LOG_STEPS, 100)
        self.grid_size = log_slider("grid size (points)", LOG_STEPS, 5000)
        self.scores = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.figure, self.axes = figure(self.shown)
        # artists are made once and updated in place: clearing and rebuilding axes costs ~90 ms a redraw
        self.curves = [ax.plot([], [])[0] for ax in self.axes]
        for i, ax in enumerate(self.axes):
            ax.axvline(float(data.true_fluxes[i]), color="k", linestyle="--", label="true flux")
            ax.set_title(f"image {i}", fontsize=10)
            ax.set_xlabel("flux")
        self.axes[0].set_ylabel("posterior density (per flux unit)")
        self.axes[0].legend(fontsize=8, loc="upper right")
        for slider in (self.bin_width, self.grid_size):
            slider.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.bin_width, self.grid_size]), self.scores, self.image])
        self.update()

    def update(self, change=None, bin_width=None, grid_size=None):
        """Recompute the posterior of every image for these values (the sliders' by default) and redraw.

        Given values move the sliders too, so the display shows what was computed.
        """
        for slider, value in ((self.bin_width, bin_width), (self.grid_size, grid_size)):
            if value is not None and value != slider.value:
                set_quietly(slider, value, self.update)
        self.posterior = grid_posterior(self.data, self.bin_width.value, self.grid_size.value, self.likelihood)
        self.rmse = flux_rmse(self.data.true_fluxes, self.posterior.mean)
        self.scores.value = self.summary()
        self.draw()

    def summary(self):
        prior, sky = self.baselines
        grid = self.posterior.grid
        return (f"grid {float(grid[0]):,.0f} to {float(grid[-1]):,.0f}: posterior mean RMSE <b>{self.rmse:,.1f}</b>"
                f" &nbsp; (sky-subtracted {sky:,.1f}, prior mean {prior:,.1f})")

    def draw(self):
        grid = self.posterior.grid.numpy()
        density = grid_density(self.posterior)  # (n, G): the same curve whatever the bin width
        for i, (ax, curve) in enumerate(zip(self.axes, self.curves)):
            curve.set_data(grid, density[i].numpy())
            curve.set_marker("." if len(grid) <= 200 else "")  # a coarse grid shows its points
            centre, width = float(self.posterior.mean[i]), max(4 * float(self.posterior.sd[i]), 5000)
            ax.set_xlim(centre - width, centre + width)
            ax.set_ylim(0, 1.1 * float(density[i].max()))
        self.image.value = png(self.figure)


def grid_density(posterior):
    """The grid posterior as a density in flux, probs / bin width: (n, G) float64.

    Probability per bin scales with the bin width, so curves of different grids (and a Normal q)
    can only be compared as densities.
    """
    grid = posterior.grid
    bin_width = float(grid[1] - grid[0]) if len(grid) > 1 else 1.0
    return posterior.probs / bin_width


def normal_density(x, mean, sd):
    """N(x; mean, sd^2) at the points x (any shape), for scalars mean and sd."""
    return torch.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def compare_posteriors(data, grid, approximations, images=(0, 1, 2)):
    """One panel per image: the grid posterior (density) with each Normal q(f) overlaid, and the true flux.

    grid:           a GridPosterior of `data`
    approximations: {label: (q_mean, q_sd)}, each (n,), in the order to draw them
    Returns a matplotlib Figure (show it as a cell's value, or save it).
    """
    fig = Figure(figsize=(4 * len(images), 3.2), dpi=72)
    axes = fig.subplots(1, len(images), squeeze=False)[0]
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.88, wspace=0.25)
    x = grid.grid
    density = grid_density(grid)
    for ax, i in zip(axes, images):
        centre, half = float(grid.mean[i]), 5 * float(grid.sd[i])
        inside = (x > centre - half) & (x < centre + half)  # (G,) the points drawn
        # wide and pale, so that a q that matches it shows as a line through a band
        ax.plot(x[inside].numpy(), density[i, inside].numpy(), color="k", lw=7, alpha=0.25, label="grid posterior")
        for label, (q_mean, q_sd) in approximations.items():
            curve = normal_density(x[inside], float(q_mean[i]), float(q_sd[i]))
            ax.plot(x[inside].numpy(), curve.numpy(), lw=1.5, label=label)
        ax.axvline(float(data.true_fluxes[i]), color="k", linestyle="--", lw=1, label="true flux")
        ax.set_xlim(centre - half, centre + half)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # five-digit fluxes: fewer ticks, or they collide
        ax.set_title(f"image {i}", fontsize=10)
        ax.set_xlabel("flux")
    axes[0].set_ylabel("density (per flux unit)")
    axes[-1].legend(fontsize=8, loc="upper right")
    return fig


def posterior_table(data, grid, approximations, images=(0, 1, 2)):
    """The means and SDs drawn by compare_posteriors, as text: one row per image, rounded to whole flux units."""
    labels = ["grid"] + list(approximations)
    columns = [(grid.mean, grid.sd)] + list(approximations.values())
    head = f"{'image':>5} {'true flux':>9}" + "".join(f" {label[:22]:>22}" for label in labels)
    lines = [head, f"{'':>15}" + f" {'mean':>11}{'SD':>11}" * len(labels)]
    for i in images:
        cells = "".join(f" {float(m[i]):11,.0f}{float(s[i]):11,.0f}" for m, s in columns)
        lines.append(f"{i:>5} {float(data.true_fluxes[i]):9,.0f}{cells}")
    return "\n".join(lines)


def learning_curves(histories):
    """The objective and the RMSE against SGD step for each run: {label: list of LogRecord} (a History's
    records, or a callback's). Figure with two panels, both axes logarithmic (the step axis linear below 1),
    so that the first few steps, where a run that diverges blows up, are as visible as the last thousands.
    The vertical range is that of the runs that did not diverge; a run that did leaves through the top, with
    an x at the step of its last finite value, and its label says at which step it diverged."""
    fig = Figure(figsize=(11, 4.2), dpi=90)
    axes = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.3, top=0.92, wspace=0.22)
    runs = {label: (records, bool(records) and not math.isfinite(records[-1].objective))
            for label, records in histories.items()}
    for ax, field, what in zip(axes, ("objective", "rmse"), ("negative ELBO, all training images (fixed draws)",
                                                            "RMSE of the posterior means (flux units)")):
        kept = [v for records, diverged in runs.values() if not diverged
                for v in (getattr(r, field) for r in records) if math.isfinite(v) and v > 0]
        top = max(kept) * 1.5 if kept else None
        for label, (records, diverged) in runs.items():
            finite = [(r.step, getattr(r, field)) for r in records if math.isfinite(getattr(r, field))]
            if diverged:
                label = f"{label}: diverged at step {records[-1].step}"
            line, = ax.plot([s for s, _ in finite], [v for _, v in finite], marker=".", markersize=3, label=label)
            if diverged and finite:
                step, value = finite[-1]
                ax.plot(step, value if top is None else min(value, top), marker="x", markersize=10, clip_on=False,
                        color=line.get_color())
        ax.set_xscale("symlog", linthresh=1)
        ax.set_yscale("log")
        if kept:
            ax.set_ylim(min(kept) / 1.5, top)
        ax.set_xlabel("SGD step")
        ax.set_title(what, fontsize=11)
    fig.legend(*axes[1].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=10, frameon=False)
    return fig


class LearningRateExplorer(Explorer):
    """A learning-rate slider that re-runs a fit in the background, tracing objective and RMSE as it trains.

    fit: course.fit_vi or course.fit_amortized; the other keywords go to it. The first fit starts in the
    background at once. Moving the slider
    during a run stops that run at its next logged step and starts the new one. A run whose
    objective turns NaN or infinite is reported as diverged.
    """

    def __init__(self, data, fit=fit_vi, lrs=(0.1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e8), lr=100, name="per-image VI",
                 **fit_options):
        self.iterations = fit_options.pop("iterations", 3000 if fit is fit_vi else 30000)
        self.data, self.fit = data, fit
        self.options = dict(fit_options, iterations=self.iterations, log_every=fit_options.get("log_every", 100))
        self.lr = log_slider(f"{name} learning rate", lrs, lr)
        self.progress = widgets.IntProgress(min=0, max=self.iterations, description="training")
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.figure, self.axes = figure(2)
        self.traces = [ax.plot([], [], marker=".")[0] for ax in self.axes]
        for ax, label in zip(self.axes, ("negative ELBO (whole data set)", "RMSE of posterior means")):
            ax.set_xlim(0, self.iterations)
            ax.set_xlabel("SGD step")
            ax.set_title(label, fontsize=10)
        self.axes[0].ticklabel_format(axis="y", useOffset=False)  # show the objective's own values
        self.records, self.result = [], None
        self._generation = 0
        self._lock = threading.Lock()  # one fit at a time: a new run waits for the old one to stop
        self._thread = None
        self.lr.observe(self._on_slider, names="value")
        self.widget = widgets.VBox([self.lr, widgets.HBox([self.progress, self.status]), self.image])
        self.run(background=True)  # the first fit runs while the notebook moves on; wait() joins it

    def _on_slider(self, change):
        self.run(background=True)  # the kernel must stay free to hear the next slider move

    def run(self, lr=None, background=False):
        """Train at `lr` (the slider's value by default, and the slider follows), in a background thread if asked."""
        if lr is not None and lr != self.lr.value:
            set_quietly(self.lr, lr, self._on_slider)
        self._generation += 1
        if background:
            self._thread = threading.Thread(target=self._train, args=(self._generation,), daemon=True)
            self._thread.start()
        else:
            self._train(self._generation)

    def wait(self):
        """Block until the run in flight, if any, has finished."""
        if self._thread is not None:
            self._thread.join()

    def _train(self, generation):
        with self._lock:
            if generation != self._generation:
                return  # a newer value came while we waited
            lr = self.lr.value
            self.records, self.result = [], None
            self.progress.value, self.progress.bar_style = 0, ""
            self.status.value = f"training at learning rate {lr:g} ..."
            try:
                result = self.fit(self.data, lr=lr, callback=lambda record: self._on_log(record, generation), **self.options)
            except Exception as error:  # shown in the widget, never as a traceback in the notebook
                self.status.value = f"<b>error</b>: {type(error).__name__}: {error}"
                self.progress.bar_style = "danger"
                return
            if generation != self._generation:
                return  # stopped for a newer value
            self.result = result
            self.status.value = self.summary()
            if result.diverged:
                self.progress.bar_style = "danger"
            else:
                self.progress.value = self.iterations
                self.progress.bar_style = "warning" if self.collapsed() else "success"
            self.draw()

    def _on_log(self, record, generation):
        if generation != self._generation:
            return True  # stop: the slider has moved on
        self.records.append(record)
        self.progress.value = record.step + 1
        if len(self.records) % 5 == 1:  # redraw every few logs: one PNG costs ~100 ms
            self.draw()
        return False

    def collapsed(self):
        """How many images' q_sd ended at the clamp's floor (a finite objective, but q is a point mass)."""
        q_sd = getattr(self.result, "q_sd", None)
        return 0 if q_sd is None else int((q_sd <= Q_SD_FLOOR).sum())

    def summary(self):
        """One line on the finished run."""
        last = self.records[-1]
        if self.result.diverged:
            return (f"learning rate {self.lr.value:g}: <b>diverged</b>; the objective became "
                    f"{last.objective} at step {last.step} (the steps overshoot)")
        if self.collapsed():
            return (f"learning rate {self.lr.value:g}: <b>not converged</b>; after {self.iterations} steps q_sd is at "
                    f"its floor of {Q_SD_FLOOR:g} for {self.collapsed()} of {len(self.result.q_sd)} images, "
                    f"RMSE <b>{last.rmse:,.0f}</b>")
        return (f"learning rate {self.lr.value:g}: after {self.iterations} steps, objective "
                f"{last.objective:,.0f}, RMSE <b>{last.rmse:,.0f}</b>")

    def draw(self):
        for ax, trace, values in zip(self.axes, self.traces, ([r.objective for r in self.records],
                                                            [r.rmse for r in self.records])):
            finite = [(r.step, v) for r, v in zip(self.records, values) if math.isfinite(v)]
            trace.set_data([s for s, _ in finite], [v for _, v in finite])
            if finite:
                low, high = min(v for _, v in finite), max(v for _, v in finite)
                margin = 0.05 * (high - low) or 1.0
                ax.set_ylim(low - margin, high + margin)
        self.image.value = png(self.figure)

def encoder_explorer(data, iterations=3000, **options):
    """The learning-rate explorer for amortized VI (exercises 9-10), trained for fewer steps to stay live."""
    return LearningRateExplorer(data, fit=fit_amortized, lrs=(1e-5, 1e-4, 1e-3, 1e-2, 1e-1), lr=1e-3,
                                name="encoder", iterations=iterations, **options)
