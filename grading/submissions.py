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

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "vi_stars"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", re.M)  # last line of a cell too


def read(path):
    return nbformat.read(path, as_version=4)


def cells_by_id(nb):
    """{grade_id: cell} for the nbgrader cells of a notebook."""
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def autograded_points(root=ROOT):
    """{grade_id: points} for the autograded test cells of the source notebook."""
    cells = cells_by_id(read(root / "source" / NOTEBOOK)).items()
    return {gid: c.metadata.nbgrader.points for gid, c in cells if c.cell_type == "code" and c.metadata.nbgrader.get("grade")}


# What a throw-away copy of the course needs to run `make release` and `make grade` with this venv.
COURSE_FILES = ("source", "release", "nbgrader_config.py", "Makefile", "requirements.txt", "pyproject.toml")


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


def release_notebook(root=ROOT):
    return read(root / "release" / NOTEBOOK)


def answered(root=ROOT, **replace):
    """The release with each answer cell filled in from the source's solution, then `replace`'s cells swapped in.

    replace: {grade_id: new cell source}, for wrong answers or edited test cells.
    """
    nb = release_notebook(root)
    solutions = cells_by_id(read(root / "source" / NOTEBOOK))
    for gid, cell in cells_by_id(nb).items():
        if cell.metadata.nbgrader.get("solution"):
            cell.source = SOLUTION_MARKER.sub("", solutions[gid].source)
        if gid in replace:
            cell.source = replace.pop(gid)
    if replace:
        raise ValueError(f"replace names cells the notebook does not have: {sorted(replace)}")
    return nb
