"""Live explorers for the notebook: move a slider, watch the posterior or the training respond.

Figures are drawn with matplotlib's object API (no pyplot state) into PNG bytes shown by an
ipywidgets Image, so they can be redrawn from the training thread as well as from a slider.
Each explorer's `update`/`run` is what its sliders call; tests and the notebook call it directly.
"""
import io
import math
import threading

import ipywidgets as widgets
from matplotlib.figure import Figure

from .amortized import fit_amortized
from .grid import grid_posterior
from .likelihood import StarLikelihood
from .metrics import flux_rmse, prior_mean_estimate, sky_subtracted_flux
from .vi import fit_vi

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
        self.axes[0].set_ylabel("posterior probability")
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
        for i, (ax, curve) in enumerate(zip(self.axes, self.curves)):
            curve.set_data(grid, self.posterior.probs[i].numpy())
            curve.set_marker("." if len(grid) <= 200 else "")  # a coarse grid shows its points
            centre, width = float(self.posterior.mean[i]), max(4 * float(self.posterior.sd[i]), 5000)
            ax.set_xlim(centre - width, centre + width)
            ax.set_ylim(0, 1.1 * float(self.posterior.probs[i].max()))
        self.image.value = png(self.figure)



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
                self.progress.value, self.progress.bar_style = self.iterations, "success"
            self.draw()

    def _on_log(self, record, generation):
        if generation != self._generation:
            return True  # stop: the slider has moved on
        self.records.append(record)
        self.progress.value = record.step + 1
        if len(self.records) % 5 == 1:  # redraw every few logs: one PNG costs ~100 ms
            self.draw()
        return False

    def summary(self):
        """One line on the finished run."""
        last = self.records[-1]
        if self.result.diverged:
            return (f"learning rate {self.lr.value:g}: <b>diverged</b>; the objective became "
                    f"{last.objective} at step {last.step} (the steps overshoot)")
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
