"""Autograde the reference solution, as a student would submit it, in a throw-away copy of the course.

    python -m grading.selfcheck 20 [assignment]      (or: make selfcheck RUNS=20 ASSIGNMENT=vi_beyond)

prints each run's autograded score and time; it exits 1 unless every run scored full marks.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grading.batch import autograded_scores
from grading.submissions import ASSIGNMENT, answered, autograded_points, copy_course, nbgrader, notebook, venv_env


def autograde_reference(runs=1, assignment=ASSIGNMENT):
    """[(seconds, autograded score)] for `runs` submissions of the reference solution, each by its own student."""
    results, tests = [], autograded_points(assignment=assignment)
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp))
        env = venv_env()
        subprocess.run(nbgrader("generate_assignment", assignment), cwd=course, env=env, check=True, capture_output=True)
        for run in range(runs):
            student = f"reference{run}"
            (course / "submitted" / student / assignment).mkdir(parents=True)
            nbformat.write(answered(assignment=assignment), course / "submitted" / student / notebook(assignment))
            start = time.perf_counter()
            subprocess.run(nbgrader("autograde", assignment, f"--student={student}"), cwd=course, env=env,
                           check=True, capture_output=True)
            seconds = time.perf_counter() - start
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                score = sum(s or 0 for s in autograded_scores(gb, student, tests, assignment).values())
            results.append((seconds, score))
    return results


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    assignment = sys.argv[2] if len(sys.argv) > 2 else ASSIGNMENT
    full = sum(autograded_points(assignment=assignment).values())
    results = autograde_reference(runs, assignment)
    for run, (seconds, score) in enumerate(results):
        print(f"run {run + 1:2d}: {score:g} / {full} autograded points in {seconds:.1f} s")
    perfect = sum(score == full for _, score in results)
    print(f"full marks {perfect} times out of {runs}")
    sys.exit(0 if perfect == runs else 1)


if __name__ == "__main__":
    main()
