"""nbgrader's own documentation course, as its package ships it (nbgrader/docs/source/user_guide/): the assignment
`ps1` (problem1.ipynb, problem2.ipynb and jupyter.png, in source/), the submissions of bitdiddle and hacker
(submitted/), and what stock `nbgrader autograde` and `generate_feedback` made of them (autograded/, feedback/)."""
import shutil
from pathlib import Path

import nbformat
import nbgrader
from nbgrader.utils import determine_grade, is_grade

PEER = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
ASSIGNMENT = "ps1"
STUDENTS = ("bitdiddle", "hacker")
NOTEBOOKS = ("problem1", "problem2")
STOCK_TOTALS = {"bitdiddle": 1.5, "hacker": 3.0}  # autograded points, as nbgrader's documentation gives them


def add_to(course, students=STUDENTS):
    """Copy ps1's source and the students' submissions into a course folder, as an instructor moving it would."""
    shutil.copytree(PEER / "source" / ASSIGNMENT, Path(course) / "source" / ASSIGNMENT)
    for student in students:
        shutil.copytree(PEER / "submitted" / student / ASSIGNMENT, Path(course) / "submitted" / student / ASSIGNMENT)


def stock_notebook(student, name):
    return nbformat.read(PEER / "autograded" / student / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def stock_scores(student, name):
    """{grade_id: autograded score} of stock nbgrader (None: waits for the instructor). nbgrader's own
    `determine_grade`, the function its SaveAutoGrades applies to each graded cell after the run."""
    return {c.metadata.nbgrader.grade_id: determine_grade(c)[0] for c in stock_notebook(student, name).cells
            if is_grade(c)}
