"""Wall time of the whole solution notebook, and of `nbgrader autograde` for one submission."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grading.submissions import ASSIGNMENT, NOTEBOOK, ROOT, answered, read


def notebook_seconds():
    """Execute source/ with every exercise answered, as `make notebook` does (kernel start-up included)."""
    nb = read(ROOT / "source" / NOTEBOOK)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return time.perf_counter() - start


def autograde_seconds():
    """`nbgrader autograde` of the reference solution, submitted by one student, in a copy of the course."""
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        for name in ["source", "nbgrader_config.py"]:
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, course / name)
        env = dict(os.environ, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}")
        nbgrader = [str(Path(sys.prefix) / "bin" / "nbgrader")]
        subprocess.run(nbgrader + ["generate_assignment", ASSIGNMENT], cwd=course, env=env, check=True, capture_output=True)
        (course / "submitted" / "student" / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(answered(), course / "submitted" / "student" / NOTEBOOK)
        start = time.perf_counter()
        subprocess.run(nbgrader + ["autograde", ASSIGNMENT], cwd=course, env=env, check=True, capture_output=True)
        return time.perf_counter() - start
