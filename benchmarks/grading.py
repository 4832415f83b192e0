"""Wall time of `make grade`'s batch: serial against parallel, sandboxed against not; the judge's overhead.

Each configuration grades the same 8 submissions of the reference solution in its own copy of the
course, through grading.batch.grade_all (what `make grade` runs), and must give every one full marks.
The canary (the reference solution graded once before the class) is timed on its own. The judge's
overhead: the reference notebook executed by nbgrader's own Execute (test cells in the kernel) and by
GuardedExecute (test cells in the judge), side by side in this process.
"""
import os
import tempfile
import time
from pathlib import Path

import statistics

import nbformat
from nbgrader.preprocessors import Execute

from grading import batch
from grading.cells import is_autograder_test
from grading.execute import GuardedExecute
from grading.submissions import ASSIGNMENT, answered, autograded_points, copy_course

SUBMISSIONS = 8


def grade_seconds(jobs, sandboxed, canary=False):
    """Seconds to grade SUBMISSIONS honest notebooks with `jobs` at a time; fails unless all score full marks."""
    full = sum(autograded_points().values())
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp), ("source", "release", "nbgrader_config.py"))
        for k in range(SUBMISSIONS):
            folder = course / "submitted" / f"student{k}" / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(answered(), folder / f"{ASSIGNMENT}.ipynb")
        coursedir = batch.course_directory(course)
        batch.ensure_assignment(coursedir.db_url, coursedir.course_id, course)  # not part of the timing
        if canary:
            start = time.perf_counter()
            batch.canary(course, coursedir.course_id, Path(tmp) / "canary", sandboxed, 300, 1800,
                         limited=batch.limits.choose() if sandboxed else "none")
            return time.perf_counter() - start
        start = time.perf_counter()
        outcomes = batch.grade_all(course, jobs, sandboxed, cell_timeout=300, student_timeout=1800, progress=False,
                                   check_reference=False)
        seconds = time.perf_counter() - start
    scores = [o.score for o in outcomes]
    assert scores == [full] * SUBMISSIONS, [(o.student, o.score, o.error) for o in outcomes]
    return seconds


def execute_seconds(preprocessor, runs=3):
    """Median seconds to execute the reference submission with `preprocessor` (no sandbox, no nbgrader start-up)."""
    times = []
    for _ in range(runs):
        nb = answered()
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            preprocessor(timeout=300).preprocess(nb, {"metadata": {"path": tmp}})
            times.append(time.perf_counter() - start)
        errors = [o for c in nb.cells if is_autograder_test(c) for o in c.outputs if o.output_type == "error"]
        assert not errors, errors
    return statistics.median(times)


def report():
    os.environ["PATH"] = batch.environment()["PATH"]  # the gradebook calls `alembic`
    serial = grade_seconds(1, sandboxed=True)
    parallel = grade_seconds(2, sandboxed=True)
    bare = grade_seconds(1, sandboxed=False)
    canary = grade_seconds(1, sandboxed=True, canary=True)
    in_kernel, judged = execute_seconds(Execute), execute_seconds(GuardedExecute)
    print(f"make grade, {SUBMISSIONS} submissions: serial {serial:.0f} s, JOBS=2 {parallel:.0f} s: "
          f"{serial / parallel:.2f}x (target >= 1.7x on 2 cores)")
    print(f"sandbox cost: {serial / SUBMISSIONS:.1f} s per submission sandboxed, {bare / SUBMISSIONS:.1f} s without: "
          f"{100 * (serial - bare) / bare:+.1f}% (target <= 10%)")
    print(f"canary (the reference solution, graded once before each class): {canary:.0f} s")
    print(f"judge: one reference notebook, tests in the kernel {in_kernel:.1f} s, tests in the judge {judged:.1f} s: "
          f"{judged - in_kernel:+.1f} s per submission ({100 * (judged - in_kernel) / in_kernel:+.1f}%)")
