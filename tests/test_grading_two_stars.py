"""The third assignment, vi_two_stars, graded by `make grade ASSIGNMENT=vi_two_stars` as its instructor would: the
mutation tests of tests/answers_vi_two_stars.py (correct answers in other styles earn every point, wrong ones lose
theirs), after the canary of its reference solution, in a moved copy of the course.
"""
import subprocess
import sys

import pytest

from conftest import CLASS_JOBS, ROOT, require_bubblewrap
from grading import batch, mutation
from grading.submissions import COURSE_FILES, autograded_points, copy_course, notebook, read, venv_env
from answers_vi_two_stars import DELEGATED_B2
from test_grading import hidden_only_lines, visible_text
from test_grading_beyond import report_block

ASSIGNMENT = "vi_two_stars"
POINTS = autograded_points(assignment=ASSIGNMENT)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_bubblewrap()
    course = copy_course(tmp_path_factory.mktemp("two_stars") / "course", COURSE_FILES + ("course", "grading"))
    packed, cases = mutation.pack(*mutation.load_answers(ROOT / "tests" / "answers_vi_two_stars.py"), POINTS)
    mutation.write_class(course, packed, ASSIGNMENT)
    (course / batch.SECRET_FILE).write_text("the vi_two_stars class of the test suite\n")  # its hidden cases, fixed
    run = subprocess.run(["make", "-o", f"{sys.prefix}/.installed", "grade", f"VENV={sys.prefix}", CLASS_JOBS,
                          f"ASSIGNMENT={ASSIGNMENT}"], cwd=course, env=venv_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return dict(course=course, cases=cases, students=sorted(packed), stdout=run.stdout)


def test_reference_solution_is_worth_every_autograded_point():
    assert sum(POINTS.values()) == 16


def test_correct_answers_in_other_styles_earn_every_point_and_wrong_ones_lose_theirs(graded):
    scores = mutation.scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", graded["students"], POINTS, ASSIGNMENT)
    outcome = mutation.judge_cases(graded["cases"], scores, POINTS)
    print(mutation.table(outcome, POINTS))
    assert {c.answer_id.removesuffix("_answer") for c in graded["cases"]} == {t.removesuffix("_test") for t in POINTS}
    assert sum(c.kind == "equivalent" for c in graded["cases"]) >= 10 and sum(c.kind == "mutant" for c in graded["cases"]) >= 15
    failed = [(c.kind, c.answer_id, c.name, why) for c, ok, why in outcome if not ok]
    assert not failed, failed


def test_feedback_shows_no_hidden_test_code(graded):
    hidden = hidden_only_lines(read(ROOT / "source" / notebook(ASSIGNMENT)))
    assert len(hidden) > 10
    for student in graded["students"]:
        text = visible_text(graded["course"] / "feedback" / student / notebook(ASSIGNMENT).replace(".ipynb", ".html"))
        leaked = hidden & {line.strip() for line in text.splitlines()}
        assert not leaked, (student, sorted(leaked)[:3])


def test_an_answer_that_calls_the_exercises_declared_reference_keeps_its_points_and_is_named(graded):
    """B2's equivalent that hands the fitting to course.fit_gaussian_vi (public: section (a) fits with it) earns every
    point, as its values are right; the report names B2's declared reference (nbgrader_config.py), and so does a note
    below the student's cell in the autograded notebook, which the formgrader shows."""
    [case] = [c for c in graded["cases"] if c.name == DELEGATED_B2]
    scores = mutation.scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", [case.student], POINTS, ASSIGNMENT)
    assert scores[case.student]["b2_test"] == POINTS["b2_test"], scores[case.student]
    note = "b2_answer reaches the declared reference of b2_answer (fit_gaussian_vi), by course.fit_gaussian_vi"
    block = report_block((graded["course"] / batch.REPORT.format(ASSIGNMENT)).read_text(), case.student)
    assert any(note in line for line in block), block
    autograded = read(graded["course"] / "autograded" / case.student / notebook(ASSIGNMENT))
    [cell] = [c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "b2_answer"]
    assert any(note.removeprefix("b2_answer ") in out.get("data", {}).get("text/plain", "") for out in cell.outputs)
    others = [c.student for c in graded["cases"] if c.kind == "equivalent" and c.answer_id == "b2_answer" and c is not case]
    for student in others:  # the loops written by hand are not named
        assert not any("declared reference of b2_answer" in line
                       for line in report_block((graded["course"] / batch.REPORT.format(ASSIGNMENT)).read_text(), student))
