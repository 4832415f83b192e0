"""grading.cells on nbgrader's own documentation course (ps1/problem1.ipynb, shipped in the nbgrader package),
whose Part D is a code answer graded by hand; and the canary's verdict (grading.batch.shortfall) built on it."""
import copy
from pathlib import Path

import nbformat
import nbgrader
from nbformat.v4 import new_output

from grading import batch, cells

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


def test_the_canary_target_leaves_out_a_manually_graded_code_answer():
    """nbgrader's max_code_score counts Part D's 2 points (5 in all), which no autograder run can earn: the
    reference solution, with every test passing, is at full marks at 3."""
    nb = problem1()
    tests = cells.autograder_points(nb)
    assert sum(tests.values()) == 3
    assert sum(c.metadata.nbgrader.points for c in nb.cells if c.cell_type == "code" and nbgrader.utils.is_grade(c)) == 5
    waiting = dict(tests, sum_of_squares_application=None, sum_of_squares_equation=None)  # for the instructor
    assert batch.shortfall(tests, waiting, nb) == ""


def test_the_canary_names_each_failing_test_with_its_message():
    nb = problem1()
    graded = copy.deepcopy(nb)
    by_id(graded)["correct_squares"].outputs = [new_output("error", ename="AssertionError", evalue="squares(1) != [1]",
                                                           traceback=[])]
    by_id(graded)["sum_of_squares_application"].outputs = [new_output("error", ename="NameError", evalue="not a test",
                                                                      traceback=[])]
    scores = dict(TESTS, correct_squares=0, correct_sum_of_squares=0.25, sum_of_squares_application=0)
    why = batch.shortfall(TESTS, scores, graded)
    assert why == ("it scored 1.75 of 3 autograded points; correct_squares (0 of 1): AssertionError: squares(1) != [1]; "
                   "correct_sum_of_squares (0.25 of 0.5): no error in its output (a partial score, or the cell is missing)")


def test_only_autograder_tests_go_to_the_judge():
    """Part D, a code answer graded by hand, is student code: it runs in the kernel (grading.execute)."""
    nb = problem1()
    assert {gid for gid, c in by_id(nb).items() if cells.is_test_cell(c)} == set(TESTS)
