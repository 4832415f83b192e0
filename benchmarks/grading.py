"""Wall time of `make grade`'s batch: serial against parallel, sandboxed against not.

Each configuration grades the same 8 submissions of the reference solution in its own copy of the
course, through grading.batch.grade_all (what `make grade` runs), and must give every one full marks.
"""
import os
import tempfile
import time
from pathlib import Path

import nbformat

from grading import batch
from grading.submissions import ASSIGNMENT, answered, autograded_points, copy_course

SUBMISSIONS = 8


def grade_seconds(jobs, sandboxed):
    """Seconds to grade SUBMISSIONS honest notebooks with `jobs` at a time; fails unless all score full marks."""
    full = sum(autograded_points().values())
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp), ("source", "release", "nbgrader_config.py"))
        for k in range(SUBMISSIONS):
            folder = course / "submitted" / f"student{k}" / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(answered(), folder / f"{ASSIGNMENT}.ipynb")
        batch.ensure_assignment(batch.course_directory(course), course)  # not part of the timing
        start = time.perf_counter()
        outcomes = batch.grade_all(course, jobs, sandboxed, cell_timeout=300, student_timeout=1800, progress=False)
        seconds = time.perf_counter() - start
    scores = [o.score for o in outcomes]
    assert scores == [full] * SUBMISSIONS, [(o.student, o.score, o.error) for o in outcomes]
    return seconds


def report():
    os.environ["PATH"] = batch.environment()["PATH"]  # the gradebook calls `alembic`
    serial = grade_seconds(1, sandboxed=True)
    parallel = grade_seconds(2, sandboxed=True)
    bare = grade_seconds(1, sandboxed=False)
    print(f"make grade, {SUBMISSIONS} submissions: serial {serial:.0f} s, JOBS=2 {parallel:.0f} s: "
          f"{serial / parallel:.2f}x (target >= 1.7x on 2 cores)")
    print(f"sandbox cost: {serial / SUBMISSIONS:.1f} s per submission sandboxed, {bare / SUBMISSIONS:.1f} s without: "
          f"{100 * (serial - bare) / bare:+.1f}% (target <= 10%)")
