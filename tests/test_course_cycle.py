"""The course cycle of the README's "Instructors" section, run for real through nbgrader's own exchange.

Two students of the graded class (tests/conftest.py), each in a home folder of their own, fetch the release
from a local exchange folder, answer it (one correctly, one with a wrong Ex 2) and submit; the instructor
collects them into the class, runs `make grade`, then `nbgrader generate_feedback` and `nbgrader
release_feedback`; each student fetches their feedback and gets their own only. How the exchange is set up:
tests/exchange.py.
"""
import csv
import html
import re
import sys
from pathlib import Path

import pytest

from conftest import THROUGH_EXCHANGE
from exchange import COURSE_ID, run
from grading.submissions import ASSIGNMENT, NOTEBOOK, autograded_points, total_points, venv_env

TOTAL = sum(autograded_points().values())


def visible_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text()))


@pytest.fixture(scope="module")
def cycle(graded_class):
    """The instructor's last steps, once, after `make grade`: feedback regenerated (as after manual grading),
    released; each student fetches it."""
    exchange = graded_class["exchange"]
    exchange.instructor("generate_feedback", "--force")
    # the rest of the class was copied in by hand: no secret to release their feedback by
    exchange.log["release_feedback"] = run(
        ["make", "-o", f"{sys.prefix}/.installed", "release-feedback", f"VENV={sys.prefix}", f"EXCHANGE={exchange.root}"],
        graded_class["course"], venv_env(), check=False)  # asserted by its own test below
    exchange.each_student("fetch_feedback", check=False)
    return dict(graded_class, log=exchange.log, homes=exchange.homes, root=exchange.root)


def earned(cycle, student):
    return sum(cycle["expected"][student].values())


def test_each_student_fetches_the_release(cycle):
    release = (Path(__file__).resolve().parents[1] / "release" / NOTEBOOK).read_text()
    assert cycle["fetched"] == {student: release for student in THROUGH_EXCHANGE}


def test_collect_puts_each_submission_where_make_grade_looks(cycle):
    submitted = cycle["course"] / "submitted"
    for student in THROUGH_EXCHANGE:
        assert (submitted / student / NOTEBOOK).is_file()
        assert (submitted / student / ASSIGNMENT / "timestamp.txt").is_file()


def test_make_grade_scores_each_collected_submission(cycle):
    lines = {line.split()[0]: line for line in cycle["stdout"].splitlines() if line and not line[0].isspace()}
    with open(cycle["course"] / "grades.csv") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert earned(cycle, "honest") == TOTAL > earned(cycle, "wrong_ex2")
    for student in THROUGH_EXCHANGE:
        assert f"{earned(cycle, student):g} / {TOTAL:g} autograded points" in lines[student]
        assert rows[student] == earned(cycle, student)


def test_release_feedback_releases_each_students_feedback_and_names_the_rest(cycle):
    """Those who handed in through the exchange get theirs; the report names those copied in by hand."""
    log = cycle["log"]["release_feedback"]
    assert " exited with 0:" in log, log
    assert len(list((cycle["root"] / COURSE_ID / "feedback").glob("*.html"))) == len(THROUGH_EXCHANGE)
    assert f"feedback released through {cycle['root']} to {len(THROUGH_EXCHANGE)} students" in log
    graded = [s for s, points in cycle["expected"].items() if points is not None and s not in THROUGH_EXCHANGE]
    for student in graded:
        assert f"  {student}: not released: did not hand in through the exchange" in log, student
    for student in THROUGH_EXCHANGE:
        assert f"  {student}:" not in log


def test_each_student_fetches_only_their_own_feedback(cycle):
    """fetch_feedback finds feedback by a secret each student's own submission left in their home folder."""
    for student in THROUGH_EXCHANGE:
        home = cycle["homes"][student]
        fetched = [p for p in (home / ASSIGNMENT / "feedback").rglob("*") if p.is_file()]
        assert [p.name for p in fetched] == [f"{ASSIGNMENT}.html"], (student, fetched)
        feedback = cycle["course"] / "feedback"
        assert fetched[0].read_text() == (feedback / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert f"Score: {earned(cycle, student):.1f} / {total_points():.1f}" in visible_text(fetched[0])  # with written
    pages = {next((cycle["homes"][s] / ASSIGNMENT / "feedback").rglob("*.html")).read_bytes() for s in THROUGH_EXCHANGE}
    assert len(pages) == len(THROUGH_EXCHANGE)  # not one page handed to both
