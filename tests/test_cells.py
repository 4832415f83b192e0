"""grading.cells on nbgrader's own documentation course (ps1/problem1.ipynb, shipped in the nbgrader package),
whose Part D is a code answer graded by hand."""
from pathlib import Path

import nbformat
import nbgrader

from grading import cells

PROBLEM1 = Path(nbgrader.__file__).parent / "docs/source/user_guide/source/ps1/problem1.ipynb"
TESTS = {"correct_squares": 1, "squares_invalid_input": 1, "correct_sum_of_squares": 0.5,
         "sum_of_squares_uses_squares": 0.5}
BY_HAND = {"sum_of_squares_equation", "sum_of_squares_application"}  # markdown, then Part D's code


def problem1():
    return nbformat.read(PROBLEM1, as_version=4)


def by_id(nb):
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells if "nbgrader" in c.metadata}


def test_autograder_tests_are_graded_cells_that_are_not_solutions():
    nb = problem1()
    assert by_id(nb)["sum_of_squares_application"].cell_type == "code"  # a code answer graded by hand
    assert cells.autograder_points(nb) == TESTS
    assert {gid for gid, c in by_id(nb).items() if cells.is_manually_graded(c)} == BY_HAND


def test_graded_code_cells_still_run_in_the_judge_manually_graded_ones_included():
    """Where cells run is unchanged: every graded code cell goes to the judge (grading.execute), Part D too."""
    nb = problem1()
    assert {gid for gid, c in by_id(nb).items() if cells.is_test_cell(c)} == set(TESTS) | {"sum_of_squares_application"}
