"""Make submissions from the course's own notebooks, and throw-away copies of the course to grade them in.

Used to check a release end to end (tests/test_grading.py), to time grading (make bench) and by
`make selfcheck`.
"""
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from grading import assignments, cells

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = tuple(assignments.names(ROOT))  # this course's assignments, in the order students meet them
ASSIGNMENT = ASSIGNMENTS[0]
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)  # last line of a cell too


def notebook(assignment=ASSIGNMENT, root=ROOT):
    """The notebook of a one-notebook assignment (this course's own), relative to source/, release/,
    submitted/<student>/ and the like; ValueError for an assignment of several (grading.assignments.notebooks)."""
    found = assignments.notebooks(assignment, root)
    if len(found) != 1:
        raise ValueError(f"assignment {assignment!r} has {len(found)} notebooks ({', '.join(found)}): name one")
    return found[0]


def read(path):
    return nbformat.read(path, as_version=4)


def cells_by_id(nb):
    """{grade_id: cell} for the nbgrader cells of a notebook."""
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def autograded_points(root=ROOT, assignment=ASSIGNMENT):
    """{grade_id: points} for the autograder tests of the source notebook (grading.cells: graded, not a solution)."""
    return cells.autograder_points(read(Path(root) / "source" / notebook(assignment, root)))


def total_points(root=ROOT, assignment=ASSIGNMENT):
    """The assignment's maximum score: its autograded tests and its manually graded answers."""
    graded = cells_by_id(read(Path(root) / "source" / notebook(assignment, root))).values()
    return sum(c.metadata.nbgrader.points for c in graded if is_grade(c))


# What a throw-away copy of the course needs to run `make release` and `make grade` with this venv.
COURSE_FILES = ("source", "release", "nbgrader_config.py", "Makefile", "cpu.env", "requirements.txt", "pyproject.toml")


def copy_course(dest, names=("source", "nbgrader_config.py")):
    """Copy these parts of the course into `dest` (mtimes kept, so make sees nothing to re-install); returns dest."""
    for name in names:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


def venv_env():
    """os.environ with this interpreter's bin/ first on PATH: nbgrader runs `alembic` from PATH."""
    return dict(os.environ, PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}")


def nbgrader(*args):
    """The command line of this venv's nbgrader."""
    return [str(Path(sys.prefix) / "bin" / "nbgrader"), *args]


def release_notebook(root=ROOT, assignment=ASSIGNMENT):
    return read(Path(root) / "release" / notebook(assignment, root))


def answered(root=ROOT, assignment=ASSIGNMENT, path=None, release=None, **replace):
    """The release with each answer cell filled in from the source's solution, then `replace`'s cells swapped in.

    path: which notebook of the assignment (relative to source/, e.g. `ps1/problem1.ipynb`); by default its only one.
    release: the folder holding the release (default: the course's release/).
    replace: {grade_id: new cell source}, for wrong answers or edited test cells.
    """
    root = Path(root)
    path = path or notebook(assignment, root)
    nb = read(Path(release or root / "release") / path)
    solutions = cells_by_id(read(root / "source" / path))
    for gid, cell in cells_by_id(nb).items():
        if is_solution(cell):
            cell.source = SOLUTION_MARKER.sub("", solutions[gid].source)
        if gid in replace:
            cell.source = replace.pop(gid)
    if replace:
        raise ValueError(f"replace names cells the notebook does not have: {sorted(replace)}")
    return nb
