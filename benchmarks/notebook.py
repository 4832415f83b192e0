"""Wall time of each assignment's whole solution notebook, and of `nbgrader autograde` for one submission."""
import statistics
import time

from nbclient import NotebookClient

from grading.selfcheck import autograde_reference
from grading.submissions import ROOT, notebook, read

# seconds on 2 cores: the solution notebook run whole, and one submission autograded
BUDGETS = {"vi_stars": (60, 120), "vi_beyond": (120, 120), "vi_two_stars": (120, 120)}


def notebook_seconds(assignment="vi_stars", runs=1):
    """Median of `runs` executions of source/ with every exercise answered, as `make notebook` does (kernel
    start-up included)."""
    times = []
    for _ in range(runs):
        nb = read(ROOT / "source" / notebook(assignment))
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "source" / assignment)}}).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def autograde_seconds(assignment="vi_stars"):
    """`nbgrader autograde` of the reference solution, submitted by one student, in a copy of the course."""
    [(seconds, _)] = autograde_reference(1, assignment)
    return seconds


def report(runs=3):
    for assignment, (run_budget, grade_budget) in BUDGETS.items():
        print(f"{assignment}: solution notebook {notebook_seconds(assignment, runs):6.1f} s (median of {runs}; "
              f"budget {run_budget} s), autograde of one submission {autograde_seconds(assignment):6.1f} s "
              f"(budget {grade_budget} s)")
