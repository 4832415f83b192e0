"""Autograde the reference solution, as a student would submit it, in a throw-away copy of the course.

    python -m grading.selfcheck 20 [assignment]      (or: make selfcheck RUNS=20 ASSIGNMENT=vi_beyond)

prints each run's autograded score and time; it exits 1 unless every run scored full marks. Each run draws its
hidden tests' data from a secret of its own (run_secret), so RUNS=20 checks the hidden tests under 20 secrets.
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grading import assignments
from grading.batch import autograded_scores, autograder_tests
from grading.submissions import ROOT, answered, copy_course, nbgrader, venv_env


def run_secret(run):
    """The course secret of run `run` (0-based): fixed, so a run that fails can be repeated with
    COURSE_HIDDEN_SECRET set to it in the source notebook's kernel."""
    return f"selfcheck run {run + 1}"


def autograde_reference(runs=1, assignment=None):
    """[(seconds, autograded score)] for `runs` submissions of the reference solution, each by its own student."""
    assignment = assignment or assignments.first(ROOT)
    results, tests = [], autograder_tests(ROOT, assignment)
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp))
        env = venv_env()
        subprocess.run(nbgrader("generate_assignment", assignment), cwd=course, env=env, check=True, capture_output=True)
        for run in range(runs):
            student = f"reference{run}"
            shutil.copytree(course / "release" / assignment, course / "submitted" / student / assignment)
            for path in tests:
                nbformat.write(answered(course, assignment, path), course / "submitted" / student / path)
            key = Path(tmp) / f"{student}.key"  # a course secret of its own: other hidden cases each run
            key.write_text(run_secret(run) + "\n")
            start = time.perf_counter()
            subprocess.run(nbgrader("autograde", assignment, f"--student={student}",
                                    f"--GuardedExecute.secret_file={key}"), cwd=course, env=env,
                           check=True, capture_output=True)
            seconds = time.perf_counter() - start
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                score = sum(s or 0 for path, points in tests.items()
                            for s in autograded_scores(gb, student, points, assignment, Path(path).stem).values())
            results.append((seconds, score))
    return results


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    try:
        assignment = assignments.check(sys.argv[2], ROOT, "ASSIGNMENT") if len(sys.argv) > 2 else assignments.first(ROOT)
    except ValueError as err:
        sys.exit(str(err))
    full = sum(sum(points.values()) for points in autograder_tests(ROOT, assignment).values())
    results = autograde_reference(runs, assignment)
    for run, (seconds, score) in enumerate(results):
        print(f"run {run + 1:2d}: {score:g} / {full} autograded points in {seconds:.1f} s "
              f"(secret {run_secret(run)!r})")
    perfect = sum(score == full for _, score in results)
    print(f"full marks {perfect} times out of {runs}")
    sys.exit(0 if perfect == runs else 1)


if __name__ == "__main__":
    main()
