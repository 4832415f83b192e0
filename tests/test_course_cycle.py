"""The course cycle of the README's "Instructors" section, run for real through nbgrader's own exchange.

The instructor releases vi_stars into a local exchange folder; two students, each in a home folder of their
own, fetch it, answer it (one correctly, one with a wrong Ex 2) and submit; the instructor collects, runs
`make grade`, then `nbgrader generate_feedback` and `nbgrader release_feedback`; each student fetches their
feedback and gets their own only.

The exchange is configured as nbgrader documents it for a shared machine: the instructor passes
`--Exchange.root` (the course's nbgrader_config.py names the course, `vi-stars`, and no exchange); each
student's ~/.jupyter/nbgrader_config.py names the exchange and the course, as a JupyterHub's
/etc/jupyter/nbgrader_config.py would. The students are not separate Unix users here, so each says who
they are (CourseDirectory.student_id); on a hub that is their login name.

Needs bubblewrap (`make grade` sandboxes every kernel): skipped without it, except under CI=true, where
that fails. Marked `cycle`: `make cycle` runs it; `make test` leaves it out to keep the suite within its time. Grading the reference canary and two students takes about 90 s; the students' commands run
side by side.
"""
import csv
import html
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

import corpus
from conftest import require_bubblewrap

pytestmark = pytest.mark.cycle
from grading.submissions import (ASSIGNMENT, COURSE_FILES, NOTEBOOK, answered, autograded_points, copy_course,
                                 nbgrader, venv_env)

COURSE_ID = "vi-stars"  # nbgrader_config.py's CourseDirectory.course_id
POINTS = autograded_points()
STUDENTS = {  # name: (what they submit, the autograded points it earns)
    "ada": (answered, sum(POINTS.values())),
    "bob": (lambda: answered(ex2_answer=corpus.WRONG_EX2), sum(POINTS.values()) - POINTS["ex2_test"]),
}


def run(args, cwd, env, check=True):
    """Run a command as the person at cwd would; its output. check: fail the test, with the output, if it fails."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    output = f"{' '.join(map(str, args))} exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0 or not check, output
    return output


def student_env(home):
    """A student's environment: their own HOME (nbgrader's cache of submissions lives under it), no Jupyter
    folders of the instructor's."""
    env = {k: v for k, v in venv_env().items() if not k.startswith("JUPYTER")}
    env["HOME"] = str(home)
    return env


def each_student(action):
    """action(student) for both students at once, as two people at their own machines; {student: result}."""
    with ThreadPoolExecutor(max_workers=len(STUDENTS)) as pool:
        return dict(zip(STUDENTS, pool.map(action, STUDENTS)))


def visible_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text()))


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """The whole cycle, once; returns where everything ended up and what each command printed."""
    require_bubblewrap()
    tmp = tmp_path_factory.mktemp("cycle")
    exchange = tmp / "exchange"
    exchange.mkdir()
    course = copy_course(tmp / "course", COURSE_FILES + ("course", "grading"))
    instructor_env = venv_env()
    to_exchange = f"--Exchange.root={exchange}"
    homes = {}
    for student in STUDENTS:
        home = homes[student] = tmp / "home" / student
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.CourseDirectory.student_id = {student!r}\n")
    log = {}

    # 1-2. Release through the exchange; each student fetches, answers and submits.
    log["release_assignment"] = run(nbgrader("release_assignment", ASSIGNMENT, to_exchange), course, instructor_env)
    log["fetch_assignment"] = each_student(
        lambda s: run(nbgrader("fetch_assignment", ASSIGNMENT), homes[s], student_env(homes[s])))
    fetched = {s: (homes[s] / NOTEBOOK).read_text() for s in STUDENTS}
    for student, (submission, _) in STUDENTS.items():
        nbformat.write(submission(), homes[student] / NOTEBOOK)
    log["submit"] = each_student(lambda s: run(nbgrader("submit", ASSIGNMENT), homes[s], student_env(homes[s])))
    log["collect"] = run(nbgrader("collect", ASSIGNMENT, to_exchange), course, instructor_env)

    # 3. Grade, as the README says (the venv is set up already: -o keeps make from re-installing it).
    grade = subprocess.run(["make", "-o", f"{sys.prefix}/.installed", "grade", f"VENV={sys.prefix}", "JOBS=2"],
                           cwd=course, env=instructor_env, capture_output=True, text=True)
    assert grade.returncode == 0, grade.stdout[-3000:] + grade.stderr[-3000:]
    log["grade"] = grade.stdout

    # 4. Feedback: regenerated (after any manual grading), released, fetched by each student.
    log["generate_feedback"] = run(nbgrader("generate_feedback", ASSIGNMENT, "--force"), course, instructor_env)
    log["release_feedback"] = run(nbgrader("release_feedback", ASSIGNMENT, to_exchange), course, instructor_env,
                                  check=False)  # asserted by its own test below
    log["fetch_feedback"] = each_student(
        lambda s: run(nbgrader("fetch_feedback", ASSIGNMENT), homes[s], student_env(homes[s]), check=False))
    return dict(course=course, exchange=exchange, homes=homes, fetched=fetched, log=log)


def test_each_student_fetches_the_release(cycle):
    release = (Path(__file__).resolve().parents[1] / "release" / NOTEBOOK).read_text()
    assert cycle["fetched"] == {student: release for student in STUDENTS}


def test_collect_puts_each_submission_where_make_grade_looks(cycle):
    submitted = cycle["course"] / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(STUDENTS)
    for student in STUDENTS:
        assert (submitted / student / NOTEBOOK).is_file()
        assert (submitted / student / ASSIGNMENT / "timestamp.txt").is_file()


def test_make_grade_scores_each_collected_submission(cycle):
    lines = {line.split()[0]: line for line in cycle["log"]["grade"].splitlines() if line and not line[0].isspace()}
    for student, (_, points) in STUDENTS.items():
        assert f"{points:g} / 25 autograded points" in lines[student]
    with open(cycle["course"] / "grades.csv") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert rows == {student: points for student, (_, points) in STUDENTS.items()}


def test_release_feedback_releases_each_students_feedback(cycle):
    assert " exited with 0:" in cycle["log"]["release_feedback"], cycle["log"]["release_feedback"]
    assert len(list((cycle["exchange"] / COURSE_ID / "feedback").glob("*.html"))) == len(STUDENTS)


def test_each_student_fetches_only_their_own_feedback(cycle):
    """fetch_feedback finds feedback by a secret each student's own submission left in their home folder."""
    for student, (_, points) in STUDENTS.items():
        home = cycle["homes"][student]
        fetched = [p for p in (home / ASSIGNMENT / "feedback").rglob("*") if p.is_file()]
        assert [p.name for p in fetched] == [f"{ASSIGNMENT}.html"], (student, fetched)
        feedback = cycle["course"] / "feedback"
        assert fetched[0].read_text() == (feedback / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert f"Score: {points:.1f} / 42.0" in visible_text(fetched[0])  # 25 autograded + 17 written points
    pages = {next((cycle["homes"][s] / ASSIGNMENT / "feedback").rglob("*.html")).read_bytes() for s in STUDENTS}
    assert len(pages) == len(STUDENTS)  # not one page handed to both
