"""The instructor's cycle on a copy of the course: release, validate, collect, `make grade`, scores, feedback, CSV.

Grading runs every submission's notebook for real (about a minute each), so one course copy with
four submissions is graded once, by the instructor's own command, and the tests read its results.
"""
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.validator import Validator
from traitlets.config import Config

from grading.submissions import (ASSIGNMENT, NOTEBOOK, ROOT, answered, autograded_points, cells_by_id, copy_course,
                                 read, release_notebook, venv_env)

VENV = Path(sys.prefix)
SOURCE = read(ROOT / "source" / NOTEBOOK)
AUTOGRADED_POINTS = autograded_points()
COURSE_FILES = ["source", "release", "nbgrader_config.py", "Makefile", "requirements.txt", "pyproject.toml"]


WRONG_EX2 = "def background_fraction(images, background):\n    return background / images[:, 0, 0]\n"
WRONG_EX7 = "def img_rate_shape(n, img_dim, num_samples):\n    return (num_samples, n, img_dim, img_dim)\n"
SUBMISSIONS = {
    "blank": release_notebook,
    "honest": answered,
    "wrong_ex2": lambda: answered(ex2_answer=WRONG_EX2),
    # a wrong answer whose test cell was rewritten to pass: the gradebook's copy of the test must be used
    "tampered_ex7": lambda: answered(ex7_answer=WRONG_EX7, ex7_test="assert True"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"), COURSE_FILES)
    for student, make in SUBMISSIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(make(), folder / f"{ASSIGNMENT}.ipynb")
    env = venv_env()
    # -o: the venv is already set up; never re-install it from the copy
    run = subprocess.run(["make", "-o", f"{VENV}/.installed", "grade", f"VENV={VENV}"], cwd=course, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course, run


def autograded_scores(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).score for gid in AUTOGRADED_POINTS}


def test_untouched_release_scores_zero(graded):
    assert sum(autograded_scores(graded[0], "blank").values()) == 0


def test_reference_solution_scores_every_autograded_point(graded):
    assert autograded_scores(graded[0], "honest") == AUTOGRADED_POINTS
    assert sum(AUTOGRADED_POINTS.values()) == 25


def test_one_wrong_answer_loses_exactly_its_points(graded):
    scores = autograded_scores(graded[0], "wrong_ex2")
    assert scores == dict(AUTOGRADED_POINTS, ex2_test=0)


def test_edited_test_cell_is_graded_with_the_original_tests(graded):
    scores = autograded_scores(graded[0], "tampered_ex7")
    assert scores == dict(AUTOGRADED_POINTS, ex7_test=0)


def test_written_answers_wait_for_manual_grading(graded):
    with Gradebook(f"sqlite:///{graded[0] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("ex6_written", ASSIGNMENT, ASSIGNMENT, "honest")
        assert grade.needs_manual_grade and grade.max_score == 2


def test_feedback_and_grades_csv(graded):
    course, _ = graded
    for student in SUBMISSIONS:
        assert (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SUBMISSIONS)
    assert float(rows["honest"]["score"]) == 25 and float(rows["blank"]["score"]) == 0
    assert float(rows["honest"]["max_score"]) == 40


def test_submissions_are_left_as_submitted(graded):
    course, _ = graded
    for student, make in SUBMISSIONS.items():
        assert read(course / "submitted" / student / NOTEBOOK) == make()


def test_release_is_up_to_date_with_source(tmp_path):
    course = copy_course(tmp_path, COURSE_FILES)
    env = venv_env()
    fresh = tmp_path / "fresh_release"
    subprocess.run([str(VENV / "bin" / "nbgrader"), "generate_assignment", ASSIGNMENT,
                    f"--CourseDirectory.release_directory={fresh}"], cwd=course, env=env, check=True, capture_output=True)
    assert (fresh / NOTEBOOK).read_text() == (ROOT / "release" / NOTEBOOK).read_text(), \
        "release/ is stale: run `make release` and commit it"


def test_release_hides_solutions_and_hidden_tests():
    text = (ROOT / "release" / NOTEBOOK).read_text()
    for marker in ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "_ref.simulate", "all 20 seeds"]:
        assert marker not in text
    assert text.count("raise NotImplementedError()") >= 11
    assert not (ROOT / "gradebook.db").exists() or "gradebook.db" in (ROOT / ".gitignore").read_text()


def validator(**options):
    config = Config()
    config.Execute.timeout = 300
    return Validator(config=config, **options)


def test_validate_passes_on_source_and_fails_on_release():
    assert validator().validate(str(ROOT / "source" / NOTEBOOK)) == {}
    failed = validator().validate(str(ROOT / "release" / NOTEBOOK))["failed"]
    unanswered = [f for f in failed if f["error"] == "You did not provide a response."]
    written = [c for c in cells_by_id(SOURCE).values() if c.cell_type == "markdown" and c.metadata.nbgrader.get("grade")]
    assert len(unanswered) == len(written) == 9
    assert len(failed) - len(unanswered) == len(AUTOGRADED_POINTS)  # every test cell fails on the stubs
    assert validator(invert=True).validate(str(ROOT / "release" / NOTEBOOK)) == {}
