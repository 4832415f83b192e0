"""What a notebook cell is to the grader, defined once, from nbgrader's own cell-role predicates.

nbgrader marks a cell's role with flags, read by `nbgrader.utils.is_grade` and `is_solution`:
- an autograder test: graded, not a solution. Its points come from whether its code raises;
- an answer graded by hand: graded and a solution (a written answer, or a code answer such as Part D of
  nbgrader's own ps1/problem1.ipynb). nbgrader leaves its points to the instructor, so no autograded score
  can include them;
- an answer the tests check: a solution, not graded.
Everything that counts "autograded points" or decides what a cell is asks here, so that no two places disagree.
"""
from nbgrader.utils import is_grade, is_solution


def is_autograder_test(cell):
    """A cell nbgrader grades by running it: graded and not a solution."""
    return bool(is_grade(cell)) and not is_solution(cell)


def is_manually_graded(cell):
    """An answer the instructor grades by hand: graded and a solution, code or markdown."""
    return bool(is_grade(cell)) and bool(is_solution(cell))


def is_test_cell(cell):
    """A code cell that grading.execute sends to the judge instead of the kernel: an autograder test.

    Every answer runs in the student's sandboxed kernel, a code answer graded by hand (graded and a solution)
    included: it is student code like any other, and the cells after it use what it defines.
    """
    return cell.cell_type == "code" and is_autograder_test(cell)


def autograder_points(nb):
    """{grade_id: points} of the notebook's autograder tests: what full autograded marks are made of."""
    return {cell.metadata.nbgrader.grade_id: cell.metadata.nbgrader.points
            for cell in nb.cells if is_autograder_test(cell)}
