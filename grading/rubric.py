"""The model answer and rubric of each answer graded by hand, for the formgrader's page (templates/formgrade_rubric).

A written answer's cell in source/ holds the instructor's model answer and rubric between `### BEGIN SOLUTION` and
`### END SOLUTION`; nbgrader's ClearSolutions replaces that region by a stub in the release (the whole cell, when it
has no markers), and its formgrader shows the grader only the student's text. `ModelAnswers` runs when the formgrader
renders a submission (the template's conf.json names it; `nbgrader generate_feedback` renders with nbgrader's own
`feedback` template, which runs no preprocessor of this module), reads source/<assignment>/<notebook>.ipynb and puts
in `resources["model_answers"]` {grade_id: that region}, for the template to show below the student's answer.

The region is the instructor's markdown, cleaned as the sanitizer cleans the release's locked cells (grading.sanitize,
trusted): its headings keep their ids unless one is a name of the grading page, so nothing in it can take the place
of a grade's score box.
"""
import html
import os

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory

from grading.cells import is_manually_graded
from grading.sanitize import page_names, sanitize_markdown

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"  # nbgrader's ClearSolutions delimiters


def solution_region(source):
    """The lines of a cell between its BEGIN SOLUTION and END SOLUTION markers; the whole cell when it has none."""
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines) if BEGIN in line]
    ends = [i for i, line in enumerate(lines) if END in line]
    if not begins or not ends or ends[0] < begins[0]:
        return source.strip()
    return "\n".join(lines[begins[0] + 1:ends[0]]).strip()


def model_answers(source_nb):
    """{grade_id: its model answer and rubric} of every answer graded by hand in a source notebook."""
    return {cell.metadata.nbgrader.grade_id: solution_region(cell.source)
            for cell in source_nb.cells if is_manually_graded(cell)}


class ModelAnswers(Preprocessor):
    """resources["model_answers"]: the source's model answer of each answer graded by hand in the rendered submission,
    keyed by the grade id as the submission's metadata spells it. Needs the formgrader's resources (assignment_id,
    notebook_id); the course directory is nbgrader's (CourseDirectory.root, from nbgrader_config.py)."""

    def preprocess(self, nb, resources):
        resources["model_answers"] = {}
        assignment, notebook = resources.get("assignment_id"), resources.get("notebook_id")
        if not assignment or not notebook:
            return nb, resources
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.source_directory, ".", assignment), f"{notebook}.ipynb")
        try:
            source = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as err:
            self.log.warning("No model answers for the formgrader: cannot read %s (%s)", path, err)
            return nb, resources
        answers = model_answers(source)
        grade_ids = [str(c.metadata.nbgrader.grade_id) for c in source.cells
                     if "grade_id" in c.metadata.get("nbgrader", {})]
        reserved = page_names(grade_ids)
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if is_manually_graded(cell) and isinstance(gid, str) and html.unescape(gid) in answers:
                resources["model_answers"][gid] = sanitize_markdown(answers[html.unescape(gid)], trusted=True,
                                                                    reserved=reserved)[0]
        return nb, resources
