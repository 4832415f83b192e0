"""What one fork bomb costs a class: `make grade` of 8 honest notebooks, then of 7 honest and 1 fork bomb.

    python -m benchmarks.fork_bomb          (a few minutes; measure, never assert: times depend on the machine)

Both classes are graded as `make grade JOBS=2` grades (grading.batch.grade_all: sandboxed, the limits this
machine allows, cell timeout 120 s, notebook timeout 900 s), each in its own copy of the course; the canary
(the reference solution graded once before a class) is left out of both. The bomb is a real, unbounded one:
a cell after Exercise 1's answer in which every process forks for ever and spins when refused. Prints both
times, the ratio, and each class's scores.
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
    honest, honest_scores = grade_class(0)
    bombed, bombed_scores = grade_class(1)
    for label, scores in (("honest class", honest_scores), ("with a bomb", bombed_scores)):
        print(f"{label}: " + ", ".join(f"{s} {score:g}/{full:g}" + (f" ({why})" if why else "")
                                       for s, (score, why) in scores.items()))
    print(f"8 honest: {honest:.0f} s; 7 honest + 1 fork bomb: {bombed:.0f} s; ratio {bombed / honest:.2f} "
          f"(target <= 1.20); load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
