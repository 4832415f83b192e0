"""The optimisation loop shared by per-image and amortized VI: logging, progress, callbacks, divergence."""
import math
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ._runtime import check_int, check_positive


@dataclass(frozen=True)
class LogRecord:
    """One logged step, taken before that step's update.

    objective: the negative ELBO of the whole data set (lower is better), estimated with the same draws at
               every logged step (common random numbers), so two steps' values differ only because q changed
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


def logged(i, iterations, log_every):
    """Whether step i is logged: every step below 10, then 10, 20, 50, 100, 200, 500, ... below `log_every`,
    every `log_every`-th step after that, and the last. Early steps are logged densely because that is
    where a learning rate that is too large shows itself (a run can diverge in its first three steps)."""
    if i < 10 or i % log_every == 0 or i == iterations - 1:
        return True
    if i >= log_every:
        return False
    head = i
    while head % 10 == 0:
        head //= 10
    return head in (1, 2, 5)


def optimise(step, score, iterations, log_every, callback=None, progress=False, desc=""):
    """Call `step` for `iterations` SGD updates, logging the steps `logged` picks.

    step:     () -> True after one update, or False, without updating, when the current parameters are
              no longer finite (the step before overshot); that step is then logged and training stops
    score:    () -> (objective, rmse) of the current parameters, at logged steps, before their update
    callback: receives each LogRecord; a truthy return stops training (a new slider value, say)
    Stops early, with history.diverged set, at the first step whose objective is NaN or infinite.
    """
    history = History()
    bar = tqdm(range(iterations), desc=desc, disable=not progress, leave=False)
    for i in bar:
        finite = True
        if not logged(i, iterations, log_every):
            finite = step()
            if finite:
                continue
        objective, error = score() if finite else (math.nan, math.nan)
        history.diverged = not math.isfinite(objective)
        record = LogRecord(i, objective, math.nan if history.diverged else error)
        history.records.append(record)
        bar.set_postfix(objective=f"{record.objective:.4g}", rmse=f"{record.rmse:.4g}", refresh=False)
        if callback is not None and callback(record):
            history.stopped = True
        if history.diverged or history.stopped:
            break
        step()
    bar.close()
    return history
