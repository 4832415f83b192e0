"""What one fork bomb costs a class: `make grade` of 8 honest notebooks, then of 7 honest and 1 fork bomb.

    python -m benchmarks.fork_bomb          (a few minutes; measure, never assert: times depend on the machine)

Both classes are graded as `make grade JOBS=2` grades (grading.batch.grade_all: sandboxed, the limits this
machine allows, cell timeout 120 s, notebook timeout 900 s), each in its own copy of the course; the canary
(the reference solution graded once before a class) is left out of both. The bomb is a real, unbounded one:
a cell after Exercise 1's answer in which every process forks for ever and spins when refused. Each class is
graded twice (honest, bomb, bomb, honest); prints the times, the ratio of the sums, and each run's scores.
"""
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from grading import batch, limits
from grading.submissions import ASSIGNMENT, answered, autograded_points, copy_course

SUBMISSIONS, JOBS, CELL_TIMEOUT, STUDENT_TIMEOUT = 8, 2, 120, 900
BOMB = """import os
while True:  # every process forks for ever, and spins when refused
    try:
        os.fork()
    except OSError:
        pass
"""


def fork_bomb():
    """The reference solution with a fork bomb after the first answer cell."""
    nb = answered()
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_answer")
    nb.cells.insert(first + 1, new_code_cell(BOMB))
    return nb


def grade_class(bombs):
    """(seconds, {student: (score, notes)}) for SUBMISSIONS notebooks, `bombs` of them fork bombs."""
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp), ("source", "release", "nbgrader_config.py"))
        for k in range(SUBMISSIONS):
            name = f"bomb{k}" if k < bombs else f"honest{k}"
            folder = course / "submitted" / name / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(fork_bomb() if k < bombs else answered(), folder / f"{ASSIGNMENT}.ipynb")
        coursedir = batch.course_directory(course)
        batch.ensure_assignment(coursedir.db_url, coursedir.course_id, course)  # not part of the timing
        start = time.perf_counter()
        outcomes = batch.grade_all(course, JOBS, True, CELL_TIMEOUT, STUDENT_TIMEOUT, progress=False,
                                   check_reference=False)
        seconds = time.perf_counter() - start
    return seconds, {o.student: (o.score, o.error or "; ".join(o.notes + [o.stopped])) for o in outcomes}


def main():
    os.environ["PATH"] = batch.environment()["PATH"]  # the gradebook calls `alembic`
    full = sum(autograded_points().values())
    print(f"limits: {limits.choose()}; {SUBMISSIONS} submissions, JOBS={JOBS}, cell timeout {CELL_TIMEOUT} s; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    # in the order honest, bomb, bomb, honest: on a machine shared with other work, a load that drifts during
    # the measurement weighs on both sides alike
    times = {0: [], 1: []}
    for bombs in (0, 1, 1, 0):
        seconds, scores = grade_class(bombs)
        times[bombs].append(seconds)
        print(f"{'with a bomb' if bombs else 'honest class'}: {seconds:.0f} s, load average {os.getloadavg()[0]:.1f}; "
              + ", ".join(f"{s} {score:g}/{full:g}" + (f" ({why})" if why else "") for s, (score, why) in scores.items()),
              flush=True)
    honest, bombed = sum(times[0]), sum(times[1])
    print(f"8 honest: {' + '.join(f'{t:.0f}' for t in times[0])} s; 7 honest + 1 fork bomb: "
          f"{' + '.join(f'{t:.0f}' for t in times[1])} s; ratio {bombed / honest:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
