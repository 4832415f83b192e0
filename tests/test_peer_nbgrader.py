"""A peer test: nbgrader's own documentation course, graded by this course's `make grade`, as stock nbgrader grades it.

nbgrader ships that course inside its package (nbgrader/docs/source/user_guide/): the assignment `ps1` (problem1.ipynb,
problem2.ipynb and jupyter.png, in source/), the submissions of bitdiddle and hacker (submitted/), and what stock
`nbgrader autograde` and `generate_feedback` made of them (autograded/, feedback/). An instructor moving that course
onto this pipeline copies source/ps1 and submitted/ into the course folder and runs `make grade ASSIGNMENT=ps1`;
every graded cell of both notebooks must then score for both students what stock nbgrader gives it (bitdiddle 1.5,
hacker 3.0 autograded points), and each feedback page must say at least what stock's says.

Stock's scores are read from nbgrader's stored autograded notebooks with nbgrader's own `determine_grade`, the function
its SaveAutoGrades applies to each graded cell after the run: it is what a live `nbgrader autograde` of these
submissions records in its gradebook (checked cell for cell on nbgrader 0.9.6, 16 of 16), without a second grading run.
"""
import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import is_solution

from conftest import CLASS_JOBS, require_bubblewrap
from grading import batch
from grading.submissions import COURSE_FILES, copy_course, venv_env
from peer_course import NOTEBOOKS, PEER, STOCK_TOTALS, STUDENTS, add_to, stock_notebook, stock_scores

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    """The course with ps1 and its two submissions added, graded by `make grade ASSIGNMENT=ps1`."""
    require_bubblewrap()
    course = copy_course(tmp_path_factory.mktemp("peer"), COURSE_FILES)
    add_to(course)
    run = subprocess.run(["make", "-o", f"{sys.prefix}/.installed", "grade", f"VENV={sys.prefix}", "ASSIGNMENT=ps1",
                          CLASS_JOBS], cwd=course, env=venv_env(), capture_output=True, text=True)
    return {"course": course, "run": run}


def graded(peer):
    """The graded course; a failure naming why `make grade` graded nothing (its report) when it did not."""
    report = peer["course"] / batch.REPORT.format("ps1")
    assert peer["run"].returncode == 0, report.read_text() if report.is_file() else peer["run"].stderr[-3000:]
    return peer["course"]


def visible_text(page):
    """The text a reader of a feedback page sees: no markup, no styles or scripts, blank runs collapsed."""
    text = re.sub(r"(?s)<(style|script)\b.*?</\1>", "", Path(page).read_text())
    return re.sub(r"[ \t]+", " ", html.unescape(re.sub(r"<[^>]+>", "", text)))


def test_make_grade_grades_nbgraders_own_course(peer):
    report = (graded(peer) / batch.REPORT.format("ps1")).read_text()
    for student in STUDENTS:
        assert f"{STOCK_TOTALS[student]:g} / 3 autograded points" in report, report


def test_the_stored_results_are_stock_nbgraders_documented_scores():
    """What this test compares against: the stored notebooks give the scores nbgrader's documentation states."""
    for student, total in STOCK_TOTALS.items():
        scores = [s for name in NOTEBOOKS for gid, s in stock_scores(student, name).items()
                  if not is_solution(next(c for c in stock_notebook(student, name).cells
                                          if c.metadata.get("nbgrader", {}).get("grade_id") == gid))]
        assert sum(scores) == total


@pytest.mark.parametrize("student", STUDENTS)
def test_every_graded_cell_scores_what_stock_nbgrader_gives_it(peer, student):
    """Autograder tests, answers graded by hand (waiting, or 0 when left unanswered) and tasks, in both notebooks."""
    disagree = {}
    with Gradebook(f"sqlite:///{graded(peer) / 'gradebook.db'}") as gb:
        for name in NOTEBOOKS:
            for gid, stock in stock_scores(student, name).items():
                grade = gb.find_grade(gid, name, "ps1", student)
                ours = (grade.auto_score, grade.needs_manual_grade)
                if ours != (stock, stock is None):
                    disagree[f"{name}/{gid}"] = {"make grade": ours, "stock nbgrader": (stock, stock is None)}
    assert not disagree, disagree


def summary(page):
    """The list of scores at the top of a feedback page, in order: the notebook's, then each graded cell's."""
    head = page.split(" In [")[0]
    return " ".join(f"{label.strip()} (Score: {score})" for label, score in re.findall(r"([\w -]+?) \(Score: (\S+ / \S+)\)", head))


def stock_says(student, name):
    """What stock's feedback page shows of each code cell: its score line if graded, its source, what it printed or
    returned, and for an error its last line and the test's own failing line; and the words of each written answer."""
    page = re.sub(r"\s+", " ", visible_text(PEER / "feedback" / student / "ps1" / f"{name}.html"))
    said = [(f"the score of {gid}: {score}", f"Grade cell: {gid} Score: {score}")
            for gid, score in re.findall(r"Grade cell: (\S+) Score: (\S+ / \S+)", page)]
    said.append(("the scores at the top, in order", summary(page)))
    for cell in stock_notebook(student, name).cells:
        if cell.cell_type == "markdown" and is_solution(cell):
            said += [(f"the written answer's word {word!r}", word) for word in re.findall(r"[A-Za-z]{4,}", cell.source)]
        if cell.cell_type != "code":
            continue
        said += [(f"source line {line.strip()!r}", line.strip()) for line in cell.source.splitlines() if line.strip()]
        for out in cell.outputs:
            if out.output_type == "stream":
                said += [(f"printed {line.strip()!r}", line.strip()) for line in out.text.splitlines() if line.strip()]
            elif out.output_type == "execute_result":
                said.append((f"returned {out.data['text/plain']!r}", out.data["text/plain"].strip()))
            elif out.output_type == "error":
                lines = [ANSI.sub("", line) for entry in out.traceback for line in entry.splitlines()]
                said.append((f"the error {lines[-1]!r}", lines[-1].strip()))
                failing = next((line for line in lines if line.lstrip().startswith("---->")), None)
                if failing:
                    said.append((f"the failing line {failing.strip()!r}", re.sub(r"\s+", " ", failing.strip())))
    return said


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_feedback_says_at_least_what_stock_feedback_says(peer, student, name):
    page = graded(peer) / "feedback" / student / "ps1" / f"{name}.html"
    assert page.is_file(), f"no feedback page {page.name} for {student}"
    ours = re.sub(r"\s+", " ", visible_text(page))
    missing = [what for what, text in stock_says(student, name)
               if (text not in ours if what != "the scores at the top, in order" else text != summary(ours))]
    assert not missing, missing
