"""What an exercise asks a student to write is not already one call away in the engine they import.

The engine (`course`) is what the notebooks use for their figures and what the hidden tests check answers
against. The references that an exercise's hidden test uses live in `course`'s modules, not in its public
namespace, and the students' notebooks only point to public names: `help(course)` and the notebook's text
never offer a student the function they are asked to write.
"""
import ast
import json
import re

import pytest

import course
from grading.submissions import ASSIGNMENTS, ROOT

MODULES_FOR_STUDENTS = {"testing", "widgets"}  # the visible tests' checks, and the live sliders


def cells(path):
    return json.loads(path.read_text())["cells"]


def answer_functions(assignment):
    """The names of the functions that the autograded answer cells of `assignment` define."""
    names = set()
    for cell in cells(ROOT / "source" / assignment / f"{assignment}.ipynb"):
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution") and meta.get("grade_id", "").endswith("_answer"):
            tree = ast.parse("".join(cell["source"]))
            names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    return names


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_exercise_function_is_a_public_name_of_the_engine(assignment):
    names = answer_functions(assignment)
    assert names, f"{assignment} has autograded answer cells that define functions"
    assert not names & set(dir(course)), f"course offers what {assignment} asks students to write"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_students_notebook_names_only_public_engine_functions(assignment):
    text = "".join("".join(cell["source"]) for cell in cells(ROOT / "release" / assignment / f"{assignment}.ipynb"))
    named = set(re.findall(r"\bcourse\.([A-Za-z_]\w*)", text))
    assert named, f"the release of {assignment} uses the engine"
    public = set(course.__all__) | MODULES_FOR_STUDENTS
    assert named <= public, f"{assignment} points students past the public engine: {sorted(named - public)}"
