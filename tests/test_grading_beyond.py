"""The second assignment, vi_beyond, graded by `make grade ASSIGNMENT=vi_beyond` as its instructor would: the
mutation tests of tests/answers_beyond.py (correct answers in other styles earn every point, wrong ones lose
theirs), after the canary of its reference solution, in the same moved copy of the course as vi_stars's class.
"""
import subprocess
import sys

import pytest

from conftest import CLASS_JOBS, ROOT, require_bubblewrap
from grading import batch, mutation
from grading.submissions import COURSE_FILES, autograded_points, copy_course, notebook, read, venv_env
from test_grading import hidden_only_lines, visible_text

ASSIGNMENT = "vi_beyond"
POINTS = autograded_points(assignment=ASSIGNMENT)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_bubblewrap()
    course = copy_course(tmp_path_factory.mktemp("beyond") / "course", COURSE_FILES + ("course", "grading"))
    packed, cases = mutation.pack(*mutation.load_answers(ROOT / "tests" / "answers_beyond.py"), POINTS)
    mutation.write_class(course, packed, ASSIGNMENT)
    (course / batch.SECRET_FILE).write_text("the vi_beyond class of the test suite\n")  # its hidden cases, fixed
    run = subprocess.run(["make", "-o", f"{sys.prefix}/.installed", "grade", f"VENV={sys.prefix}", CLASS_JOBS,
                          f"ASSIGNMENT={ASSIGNMENT}"], cwd=course, env=venv_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return dict(course=course, cases=cases, students=sorted(packed), stdout=run.stdout)


def test_correct_answers_in_other_styles_earn_every_point_and_wrong_ones_lose_theirs(graded):
    scores = mutation.scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", graded["students"], POINTS, ASSIGNMENT)
    outcome = mutation.judge_cases(graded["cases"], scores, POINTS)
    print(mutation.table(outcome, POINTS))
    assert {c.answer_id.removesuffix("_answer") for c in graded["cases"]} == {t.removesuffix("_test") for t in POINTS}
    failed = [(c.kind, c.answer_id, c.name, why) for c, ok, why in outcome if not ok]
    assert not failed, failed


def test_report_is_the_assignments_own(graded):
    report = (graded["course"] / batch.REPORT.format(ASSIGNMENT)).read_text()
    assert report.startswith(f"{ASSIGNMENT}: {len(graded['students'])} submissions")
    assert f"graded {len(graded['students'])} of {len(graded['students'])}" in report
    assert not (graded["course"] / batch.REPORT.format("vi_stars")).exists()


def test_feedback_shows_no_hidden_test_code(graded):
    hidden = hidden_only_lines(read(ROOT / "source" / notebook(ASSIGNMENT)))
    assert len(hidden) > 10
    for student in graded["students"]:
        text = visible_text(graded["course"] / "feedback" / student / notebook(ASSIGNMENT).replace(".ipynb", ".html"))
        leaked = hidden & {line.strip() for line in text.splitlines()}
        assert not leaked, (student, sorted(leaked)[:3])


def report_block(report, student):
    """The report's lines for one student: theirs, then the indented notes under it."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [student])
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def test_an_answer_that_calls_the_engines_reference_is_named_in_the_report(graded):
    """The B1 mutant that returns the engine's reparameterisation gradient imports it from course.gradients."""
    [case] = [c for c in graded["cases"] if c.name == "the reparameterisation estimator"]
    block = report_block((graded["course"] / batch.REPORT.format(ASSIGNMENT)).read_text(), case.student)
    assert any("b1_answer uses the engine's own references (check it by hand): from course.gradients import "
               "reparam_gradient" in line for line in block), block
