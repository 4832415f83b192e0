"""grading.delegation: code that reaches past the engine's public API, or hides off to the right, is named."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grading import delegation
from grading.sanitize import SanitizeStudentMarkup
from grading.submissions import ROOT, answered


def test_the_references_of_the_hidden_tests_are_named_however_they_are_reached():
    cases = {
        "from course.vi import neg_elbo_grad\nneg_elbo_grad(m, s, e, p, l)": ["from course.vi import neg_elbo_grad"],
        "import course\ncourse.likelihood.StarLikelihood(x, psf, b)": ["course.likelihood.StarLikelihood"],
        "import course.gradients as g": ["import course.gradients"],
        "from course import coverage": ["from course import coverage"],
        "import importlib\nimportlib.import_module('course.' + 'vi')": ["import importlib", "importlib.import_module"],
        "f = __import__('course.evidence')": ["__import__"],
        "import sys\nsys.modules['course.vi']": ["sys.modules"],
        "import course\ngetattr(course, 'v' + 'i')": ["getattr(course, ...)"],
    }
    for source, named in cases.items():
        assert delegation.reaches(source) == named, source


def test_the_public_engine_and_ordinary_code_are_not_named():
    honest = ("import course\nimport course.widgets\nfrom course import simulate, grid_posterior\n"
              "from course.testing import as_values\nd = course.simulate(n=3)\ng = getattr(course, 'fit_vi')\n"
              "import numpy as np\nnp.sqrt(2)")
    assert delegation.reaches(honest) == [] and delegation.reaches("def f(:\n") == []


def test_the_reference_solutions_are_not_flagged():
    for assignment in ("vi_stars", "vi_beyond"):
        from grading.batch import student_cells
        assert delegation.notes(student_cells(answered(ROOT, assignment))) == []


def test_a_call_hidden_off_to_the_right_is_reported():
    nb = new_notebook(cells=[new_code_cell("def answer(x):\n    return 0" + " " * 600 + "; import course.vi",
                                           metadata={"nbgrader": {"grade_id": "ex6_answer", "solution": True}})])
    notes = delegation.notes(nbformat.from_dict(nb))
    assert len(notes) == 2 and notes[0].startswith("ex6_answer uses the engine's own references")
    assert "ex6_answer has 1 line(s) wider than" in notes[1]


def test_the_autograded_notebook_notes_it_below_the_students_cell_only():
    """FlagDelegation (in autograde, before the sanitizer): a note output below the student's cell, which the sanitizer
    keeps; the instructor's test and locked cells, which may use the references, get none; a cell with nothing to flag
    keeps its outputs as they were."""
    call = "import course.vi\ncourse.vi.neg_elbo_grad"
    nb = nbformat.from_dict(new_notebook(cells=[
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "ex6_answer", "solution": True}}),
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "ex6_test", "grade": True, "locked": True,
                                                   "points": 1}}),
        new_code_cell(call, metadata={"nbgrader": {"grade_id": "setup", "locked": True}}),
        new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "ex7_answer", "solution": True}})]))
    nb, _ = delegation.FlagDelegation().preprocess(nb, {})
    nb, _ = SanitizeStudentMarkup().preprocess(nb, {})
    assert [len(c.outputs) for c in nb.cells] == [1, 0, 0, 0]
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == ("[Grading note for the instructor: this cell uses the "
                                                           "engine's own references (check it by hand): "
                                                           "import course.vi, course.vi.neg_elbo_grad.]")
