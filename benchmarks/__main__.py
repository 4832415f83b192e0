"""`make bench`: time the lab's formulation and the course engine side by side, in one process.

Prints medians over repeats and the ratio lab / course for each method, then (unless --quick) each
assignment's solution notebook (median of 3 runs) and the autograde of one submission against their
budgets, and `make grade` on 8 submissions serial, two at a time, and unsandboxed. Both sides run with
one torch thread, on the same data (seed 0, n = 16), with the same iteration counts.
"""
import platform
import statistics
import sys
import time

import torch

import course
from benchmarks import grading
from benchmarks.lab_formulation import lab_fit_amortized, lab_fit_vi, lab_grid_posterior
from benchmarks import notebook
from course.widgets import GridExplorer


def median_seconds(fn, repeats):
    fn()  # warm-up: first-call imports and allocations are not what we measure
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(name, unit, lab, ours, scale):
    print(f"{name:<34}{lab * scale:>12.3f}{ours * scale:>12.3f}  {unit:<14}{lab / ours:>8.1f}x")


def main():
    torch.set_num_threads(1)
    data = course.simulate()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch thread, {cpu}; torch {torch.__version__}")
    print(f"{'':<34}{'lab':>12}{'course':>12}  {'unit':<14}{'speed-up':>9}")

    lab = median_seconds(lambda: lab_grid_posterior(data), 9)
    ours = median_seconds(lambda: course.grid_posterior(data), 9)
    row("grid posterior, grid_size 5000", "ms", lab, ours, 1e3)
    exact = lab_grid_posterior(data, dtype=torch.float64)
    print(f"  posterior mean vs float64 lab formulation: course {float((course.grid_posterior(data).mean - exact).abs().max()):.1e}, "
          f"lab float32 {float((lab_grid_posterior(data).double() - exact).abs().max()):.1f} flux units (max over images)")

    its = 300
    lab = median_seconds(lambda: lab_fit_vi(data, iterations=its), 5) / its
    ours = median_seconds(lambda: course.fit_vi(data, iterations=its), 5) / its
    row("per-image VI, one iteration", "ms", lab, ours, 1e3)

    lab = median_seconds(lambda: lab_fit_amortized(data, iterations=its), 5) / its
    ours = median_seconds(lambda: course.fit_amortized(data, iterations=its), 5) / its
    row("amortized VI, one iteration", "ms", lab, ours, 1e3)

    explorer = GridExplorer(data)
    compute = median_seconds(lambda: course.grid_posterior(data, 100, 5000, explorer.likelihood), 9)
    redraw = median_seconds(explorer.update, 9)
    print(f"grid explorer, one slider move at grid size 5000: compute {compute * 1e3:.1f} ms (budget 20), "
          f"compute and redraw {redraw * 1e3:.0f} ms (budget 300)")

    if "--quick" in sys.argv:
        return
    # The lab's own code, every exercise re-run as it asks, takes about 25 minutes here (estimated from
    # its measured steps: 27 s per 3000-step VI fit, 192 s per 30000-step encoder, 7 min for n = 256).
    notebook.report()
    grading.report()


if __name__ == "__main__":
    main()
