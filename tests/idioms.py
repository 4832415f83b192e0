"""nbgrader's test idioms, packed into one notebook, with the score stock nbgrader gives each test.

The idioms are those of nbgrader's own documentation (`autograding_resources.rst`: a function deleted to check
that another one calls it, `unittest.mock.patch("__main__.print")`, the global-variable gotcha; its `ps1`
course: expected exceptions, `del squares` then `NameError`) and of courses that run on it (unittest and
numpy.testing asserts, patching a notebook function for the length of a check, checking that an input was
left alone, a number as a test's last value for partial credit, tuple unpacking and type checks). The
answers are in one cell; some are right and some wrong, so that each idiom is seen both passing and failing.

STOCK holds the points stock `nbgrader autograde` (0.9.6, tests run in the student's kernel) gave each test
cell of this notebook, established by `python -m tests.idioms` (which grades it so and prints them, ~30 s).
OURS is what our judge gives; REFUSED names the tests where it differs, and why; README's "What `make grade`
does" says the same.
"""
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ANSWERS = '''
import numpy as np

def squares(n):
    if n < 1:
        raise ValueError("n must be at least 1")
    return [i ** 2 for i in range(1, n + 1)]

def sum_of_squares(n):
    return sum(squares(n))

def cubes(n):
    return [i ** 3 for i in range(1, n + 1)]

def sum_of_cubes(n):  # wrong: asked to use cubes, it computes them again
    return sum(i ** 3 for i in range(1, n + 1))

def mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))

def mse_report(a, b):
    return f"MSE {mse(a, b):.2f}"

arr = np.array([1.0, 2.0, 3.0])

def double(x):
    return x * 2

def double_arr(x):  # wrong: the notebook's arr, not its argument (the gotcha of nbgrader's docs)
    return arr * 2

def shares(x):
    return x / x.sum()

def shares_in_place(x):  # wrong: divides its input
    x /= x.sum()
    return x

def sorted_copy(values):
    return sorted(values)

def sorted_in_place(values):  # wrong: sorts its input
    values.sort()
    return values

def greet(name):
    print(f"hello {name}")

def smaller(a, b):
    return a if a < b else b

answer = 42.0
'''

# (grade_id, test cell source)
IDIOMS = [
    ("returns", '''assert squares(1) == [1]
assert squares(3) == [1, 4, 9]
assert sum_of_squares(10) == 385'''),
    ("raises", '''try:
    squares(0)
except ValueError:
    pass
else:
    raise AssertionError("did not raise")'''),
    ("unittest_asserts", '''import unittest
case = unittest.TestCase()
case.assertEqual(squares(2), [1, 4])
case.assertRaises(ValueError, squares, -4)
with case.assertRaises(ValueError):
    squares(0)'''),
    ("numpy_testing", '''import numpy as np
np.testing.assert_allclose(double(np.array([1.5, 2.0])), [3.0, 4.0])
np.testing.assert_array_equal(arr, [1.0, 2.0, 3.0])'''),
    ("uses_squares", '''"""ps1's sum_of_squares_uses_squares: sum_of_squares fails once squares is deleted."""
orig_squares = squares
del squares
try:
    sum_of_squares(1)
except NameError:
    pass
else:
    raise AssertionError("sum_of_squares does not use squares")
finally:
    squares = orig_squares'''),
    ("squares_restored", '''assert squares(2) == [1, 4] and sum_of_squares(3) == 14'''),
    ("uses_cubes", '''orig_cubes = cubes
del cubes
try:
    sum_of_cubes(1)
except NameError:
    pass
else:
    raise AssertionError("sum_of_cubes does not use cubes")
finally:
    cubes = orig_cubes'''),
    ("uses_mse", '''"""nbgrader's docs: delete mse, check that the code calls it, restore it, delete the test's own name."""
old_mse = mse
del mse
try:
    mse_report([1, 2], [1, 3])
except NameError:
    pass
else:
    raise AssertionError("mse_report does not call mse")
finally:
    mse = old_mse
    del old_mse'''),
    ("deleted_value", '''orig = answer
del answer
try:
    answer
except NameError:
    pass
else:
    raise AssertionError("answer was not deleted")
finally:
    answer = orig
assert answer == 42.0'''),
    ("rebinds_data", '''import numpy as np
old_arr = arr
arr = np.array([5.0, 7.0])
try:
    np.testing.assert_array_equal(double_arr(arr), [10.0, 14.0])
finally:
    arr = old_arr'''),
    ("global_gotcha", '''"""nbgrader's docs: a new input under a new name catches an answer that reads the notebook's arr."""
import numpy as np
arr2 = np.array([3.0, 2.0])
np.testing.assert_array_equal(double(arr2), [6.0, 4.0])
np.testing.assert_array_equal(double_arr(arr2), [6.0, 4.0])'''),
    ("patch_with_notebook_function", '''from unittest.mock import patch
with patch("__main__.squares", cubes):
    assert sum_of_squares(2) == 9
assert sum_of_squares(2) == 5'''),
    ("patch_object", '''import __main__
from unittest.mock import patch
with patch.object(__main__, "squares", cubes):
    assert sum_of_squares(3) == 36
assert squares(3) == [1, 4, 9]'''),
    ("patch_print_mock", '''"""nbgrader's docs: patch print with a MagicMock, check how it was called."""
from unittest.mock import patch
with patch("__main__.print") as mock_print:
    greet("Ada")
mock_print.assert_called_once_with("hello Ada")'''),
    ("patch_min_mock", '''"""nbgrader's docs: check that smaller does not call the built-in min."""
from unittest.mock import patch
with patch("__main__.min") as mock_min:
    smaller(1, 2)
mock_min.assert_not_called()'''),
    ("input_left_alone", '''import numpy as np
x = np.array([1.0, 3.0])
np.testing.assert_allclose(shares(x), [0.25, 0.75])
np.testing.assert_array_equal(x, [1.0, 3.0])'''),
    ("input_changed", '''import numpy as np
x = np.array([1.0, 3.0])
np.testing.assert_allclose(shares_in_place(x), [0.25, 0.75])
np.testing.assert_array_equal(x, [1.0, 3.0])'''),
    ("list_left_alone", '''values = [3, 1, 2]
assert sorted_copy(values) == [1, 2, 3]
assert values == [3, 1, 2]'''),
    ("list_changed", '''values = [3, 1, 2]
assert sorted_in_place(values) == [1, 2, 3]
assert values == [3, 1, 2], "sorted_in_place changed its input"'''),
    ("types", '''assert type(answer) == float and type(squares(2)) == list
total, cubed = sum_of_squares(2), sum_of_cubes(2)
assert (total, cubed) == (5, 9)'''),
    ("partial_credit", '''"""A number as the test's last value is partial credit: half a point per case."""
score = 0
score += 0.5 if sum_of_squares(2) == 5 else 0
score += 0.5 if sum_of_cubes(2) == 100 else 0
score'''),
    ("last_value_not_a_number", '''squares(3)'''),
    ("notebook_restored", '''import numpy as np
assert sum_of_squares(2) == 5 and sum_of_cubes(2) == 9 and answer == 42.0
np.testing.assert_array_equal(arr, [1.0, 2.0, 3.0])'''),
]

# Points stock nbgrader 0.9.6 gave each test (1 point each), from `python -m tests.idioms`.
STOCK = {"returns": 1, "raises": 1, "unittest_asserts": 1, "numpy_testing": 1, "uses_squares": 1,
         "squares_restored": 1, "uses_cubes": 0, "uses_mse": 1, "deleted_value": 1, "rebinds_data": 1,
         "global_gotcha": 0, "patch_with_notebook_function": 1, "patch_object": 1, "patch_print_mock": 1,
         "patch_min_mock": 1, "input_left_alone": 1, "input_changed": 0, "list_left_alone": 1, "list_changed": 0,
         "types": 1, "partial_credit": 0.5, "last_value_not_a_number": 1, "notebook_restored": 1}

# Where the judge differs from stock: a MagicMock is code made in the test, and code does not cross into the
# notebook; the test fails with a TypeError that names what can.
OURS = dict(STOCK, patch_print_mock=0, patch_min_mock=0)
REFUSED = {"patch_print_mock": "MagicMock", "patch_min_mock": "MagicMock"}


def notebook():
    """The idioms' notebook: the answers, then one test cell (1 point, nbgrader's metadata) per idiom."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells.append(new_code_cell(ANSWERS))
    for grade_id, source in IDIOMS:
        nb.cells.append(new_code_cell(source, metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "grade_id": grade_id, "points": 1, "schema_version": 3}}))
    return nb


def stock_scores():
    """{grade_id: points} that stock `nbgrader generate_assignment` + `autograde` give the notebook (~20 s)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.api import Gradebook
    from traitlets.config import Config
    with tempfile.TemporaryDirectory() as root:
        for kind in ("source", "submitted/student"):
            folder = Path(root) / kind / "idioms"
            folder.mkdir(parents=True)
            nbformat.write(notebook(), folder / "idioms.ipynb")
        config = Config()
        config.CourseDirectory.root = root
        config.CourseDirectory.db_assignments = [{"name": "idioms"}]
        config.CourseDirectory.db_students = [{"id": "student"}]
        api = NbGraderAPI(config=config)
        for step in (api.generate_assignment("idioms"), api.autograde("idioms", "student")):
            assert step["success"], step.get("error") or step.get("log")
        with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
            submission = gb.find_submission_notebook("idioms", "idioms", "student")
            return {grade.name: grade.score for grade in submission.grades}


if __name__ == "__main__":
    scores = stock_scores()
    print({gid: int(scores[gid]) if scores[gid] == int(scores[gid]) else scores[gid] for gid, _ in IDIOMS})
    sys.exit(0 if scores == STOCK else 1)
