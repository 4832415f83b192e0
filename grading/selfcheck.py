"""Autograde the reference solution, as a student would submit it, in a throw-away copy of the course.

    python -m grading.selfcheck 20      (or: make selfcheck RUNS=20)

prints each run's autograded score and time; it exits 1 unless every run scored full marks.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from grading.submissions import ASSIGNMENT, NOTEBOOK, ROOT, answered, cells_by_id, read


def autograded_points():
    """The points of the notebook's autograded test cells, in all."""
    cells = cells_by_id(read(ROOT / "source" / NOTEBOOK)).values()
    return sum(c.metadata.nbgrader.points for c in cells if c.cell_type == "code" and c.metadata.nbgrader.get("grade"))


def autograde_reference(runs=1):
    """[(seconds, autograded score)] for `runs` submissions of the reference solution, each by its own student."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        for name in ["source", "nbgrader_config.py"]:
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, course / name)
        env = dict(os.environ, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}")
        nbgrader = [str(Path(sys.prefix) / "bin" / "nbgrader")]
        subprocess.run(nbgrader + ["generate_assignment", ASSIGNMENT], cwd=course, env=env, check=True, capture_output=True)
        for run in range(runs):
            student = f"reference{run}"
            (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
            nbformat.write(answered(), course / "submitted" / student / NOTEBOOK)
            start = time.perf_counter()
            subprocess.run(nbgrader + ["autograde", ASSIGNMENT, f"--student={student}"], cwd=course, env=env,
                           check=True, capture_output=True)
            seconds = time.perf_counter() - start
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                score = gb.find_submission(ASSIGNMENT, student).code_score
            results.append((seconds, score))
    return results


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    full = autograded_points()
    results = autograde_reference(runs)
    for run, (seconds, score) in enumerate(results):
        print(f"run {run + 1:2d}: {score:g} / {full} autograded points in {seconds:.1f} s")
    perfect = sum(score == full for _, score in results)
    print(f"full marks {perfect} times out of {runs}")
    sys.exit(0 if perfect == runs else 1)


if __name__ == "__main__":
    main()
