"""grading.delegation: code that reaches past the engine's public API, or hides off to the right, is named."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grading import delegation
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
