"""The optimisation loop shared by per-image and amortized VI: logging, progress, callbacks, divergence."""
import math
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ._runtime import check_int, check_positive


@dataclass(frozen=True)
class LogRecord:
    """One logged step, taken before that step's update.

    objective: the Monte Carlo negative ELBO of the whole data set (lower is better)
    rmse:      RMSE of the current posterior means against the true fluxes
    """

    step: int
    objective: float
    rmse: float


@dataclass
class History:
    """The logged steps of a fit, in order; `diverged` is set when the objective stopped being finite."""

    records: list = field(default_factory=list)
    diverged: bool = False
    stopped: bool = False  # the callback asked to stop

    @property
    def steps(self):
        return [r.step for r in self.records]

    @property
    def objectives(self):
        return [r.objective for r in self.records]

    @property
    def rmses(self):
        return [r.rmse for r in self.records]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        return self.records[i]


def check_options(lr, iterations, num_samples, log_every):
    """Validate the options both fitters share; returns them as (float, int, int, int)."""
    return (
        check_positive("lr", lr),
        check_int("iterations", iterations, 1),
        check_int("num_samples", num_samples, 1),
        check_int("log_every", log_every, 1),
    )


def optimise(step, iterations, log_every, rmse, callback=None, progress=False, desc=""):
    """Call `step` for `iterations` SGD updates, logging every `log_every` steps and at the last.

    step:     (with_value: bool) -> the objective before this update (a float) if asked, else None;
              it makes one update either way
    rmse:     () -> float, scored at logged steps, before their update
    callback: receives each LogRecord; a truthy return stops training (a new slider value, say)
    Stops early, with history.diverged set, at the first logged objective that is NaN or infinite.
    """
    history = History()
    bar = tqdm(range(iterations), desc=desc, disable=not progress, leave=False)
    for i in bar:
        if i % log_every and i != iterations - 1:
            step(False)
            continue
        error = rmse()
        objective = step(True)
        history.diverged = not math.isfinite(objective)
        record = LogRecord(i, objective, math.nan if history.diverged else error)
        history.records.append(record)
        bar.set_postfix(objective=f"{objective:.4g}", rmse=f"{record.rmse:.4g}", refresh=False)
        if callback is not None and callback(record):
            history.stopped = True
        if history.diverged or history.stopped:
            break
    bar.close()
    return history
