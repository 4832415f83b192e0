"""Feedback that shows hidden tests only by their verdict.

nbgrader's feedback shows each test cell as the gradebook holds it, hidden block included (nbgrader
#917, #1363). `HideHiddenTests` runs in `generate_feedback` before the HTML is written and removes the
hidden block from each test cell's source. What the cell's outputs say needs no cleaning: test cells
ran in the judge (grading.judge), which reports a failure on a hidden line by its type and message
only, and the student's kernel never received a hidden line to print. The points are untouched.
"""
from nbgrader.preprocessors import NbGraderPreprocessor

from grading.cells import is_test_cell
from grading.judge import hidden_line_numbers


def visible_source(source):
    """A test cell's source less its hidden block (markers included)."""
    numbers = hidden_line_numbers(source)
    return "\n".join(line for n, line in enumerate(source.splitlines(), start=1) if n not in numbers)


def hidden_lines(source):
    """The set of a test cell's non-blank hidden lines, stripped (markers included)."""
    numbers = hidden_line_numbers(source)
    return {line.strip() for n, line in enumerate(source.splitlines(), start=1) if n in numbers and line.strip()}


class HideHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            cell.source = visible_source(cell.source)
        return cell, resources
