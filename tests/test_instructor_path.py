"""The ordinary paths through the course in a real browser: the instructor grading a written answer in the formgrader,
and a student pressing Validate. JupyterLab in headless Chromium, driven through the page's own menus, links,
inputs and buttons.

The instructor: JupyterLab started with a token in a copy of the graded class (tests/conftest.py, graded_class;
copied so that grading by hand here changes no score another test reads), Nbgrader -> Formgrader, the class listed
under Manage Students, student "honest"'s notebook opened from there, a score and a comment typed into Ex 3's
written answer; then `nbgrader export` and `nbgrader generate_feedback --force` for that student, as the README
says, and the score and comment are in grades.csv and the feedback. The formgrader shows each written
answer's model answer below it (tests/test_formgrader_browser.py checks that); the source notebook itself is reached
through the formgrader's Manage Assignments, whose assignment link opens source/vi_stars/ in JupyterLab's file
browser: that is the path tested here.

The student: the release notebook with every answer filled in, then an untouched copy, each opened in JupyterLab
and checked with nbgrader's Validate button in the notebook toolbar. They sit in a folder of the same server (one
server and browser for both paths, to keep the wall time down), so Validate runs with the course's
nbgrader_config.py (its cell time-out of 120 s instead of nbgrader's 30 s; nothing else in it applies to Validate).

Needs Debian's chromium and bubblewrap (`.ci/run` installs them); skipped where either is absent, except under
CI=true, where that fails.
"""
import csv
import html
import json
import os
import re
import shutil
import subprocess

import nbformat
import pytest
from nbgrader.api import Gradebook

import lab_server
from grading.submissions import (ASSIGNMENT, NOTEBOOK, ROOT, answered, autograded_points, cells_by_id, nbgrader,
                                 read, release_notebook, venv_env)
from lab_server import CHROMIUM, CHROMIUM_ARGS


for needed, package in ((CHROMIUM, "chromium"), (shutil.which("bwrap"), "bubblewrap")):
    if not needed or not os.path.exists(needed):
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but {package} is not installed: .ci/run must apt-get install {package}")
        pytest.skip(f"needs Debian's {package} (apt-get install {package})", allow_module_level=True)

STUDENT = "honest"  # her answers are the reference solution's; Ex 3's written answer waits for a grade
WRITTEN = "ex3_written"
SCORE, COMMENT = "1.5", "Right about the bins; say why the error is bounded by half a bin width."
# the model answer's first sentence (no LaTeX in it, so the rendered text matches the source), after its
# "**Model answer.**" label inside the solution region
MODEL_ANSWER = cells_by_id(read(ROOT / "source" / NOTEBOOK))[WRITTEN].source.split("**Model answer.**")[1].split(":")[0].strip()
STUDENT_COPIES = "student-copies"  # answered/vi_stars.ipynb and untouched/vi_stars.ipynb, in the served folder
VALIDATE_TIMEOUT = 600_000  # ms: Validate runs the whole notebook (~50 s on 2 idle cores)


def db_url(course):
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, graded_class):
    """JupyterLab as the instructor starts it (in the course folder, with a token) on a copy of the graded class, and
    one Chromium logged in to it; the students' two copies of the release in a folder of their own."""
    from playwright.sync_api import sync_playwright

    course = tmp_path_factory.mktemp("instructor") / "course"
    shutil.copytree(graded_class["course"], course, symlinks=True)
    for which, nb in (("answered", answered(course)), ("untouched", release_notebook(course))):
        (course / STUDENT_COPIES / which).mkdir(parents=True)
        nbformat.write(nb, course / STUDENT_COPIES / which / f"{ASSIGNMENT}.ipynb")

    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell, not only those in view, so that the page's text holds the whole notebook
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    with lab_server.server(course, home, home / "settings") as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)  # a shared 2-core machine: pages can take long to settle
        context.route(lambda url: not url.startswith(base), lambda route: route.abort())  # offline
        yield dict(course=course, base=base, token=token, context=context, env=lab_server.environment(home, home / "settings"))
        browser.close()

def open_lab(lab, path=""):
    """A new tab on JupyterLab (on `path`, a file under the served folder), once its interface is up."""
    page = lab["context"].new_page()
    page.goto(f"{lab['base']}/lab{'/tree/' + path if path else ''}?reset&token={lab['token']}")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.wait_for()
    return page


def menu(page, top, item):
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


@pytest.fixture(scope="module")
def formgrader(lab):
    """Nbgrader -> Formgrader in JupyterLab: Manage Students, the student, the assignment, the notebook; a score and a
    comment typed into the written answer, each saved when the grader leaves its box. Returns what the pages showed."""
    page = open_lab(lab)
    menu(page, "Nbgrader", "Formgrader")
    frame = page.locator("iframe[src*='formgrader']").element_handle().content_frame()
    frame.locator("a", has_text="Manage Students").click()
    frame.wait_for_url("**/formgrader/manage_students")
    frame.locator("#main-table td", has_text=STUDENT).first.wait_for()
    listed = frame.locator("#main-table tr td:nth-child(2)").all_inner_texts()
    frame.locator("#main-table tr", has=frame.locator(f"td:text-is('{STUDENT}')")).locator("td:first-child a").click()
    frame.wait_for_url(f"**/formgrader/manage_students/{STUDENT}")
    frame.locator("#main-table a", has_text=ASSIGNMENT).click()
    frame.wait_for_url(f"**/formgrader/manage_students/{STUDENT}/{ASSIGNMENT}")
    frame.locator("#main-table a", has_text=ASSIGNMENT).click()
    frame.wait_for_url(re.compile(r"/formgrader/submissions/[^/]+/?$"))
    score = frame.locator(f"input.score#{WRITTEN}")
    score.wait_for()
    answer_text = frame.locator(".nbgrader_cell", has=score).inner_text()

    def saved(kind):
        return page.expect_response(lambda r: f"/formgrader/api/{kind}/" in r.url and r.request.method == "PUT")

    with saved("grade") as grade_saved:
        score.click()
        score.press_sequentially(SCORE)
        score.press("Tab")  # leaving the box saves it
    comment = frame.locator(f"textarea#{WRITTEN}-comment")
    with saved("comment") as comment_saved:
        comment.click()
        comment.press_sequentially(COMMENT)
        comment.press("Tab")
    saves = [grade_saved.value.status, comment_saved.value.status]

    # where the model answer is: Manage Assignments -> the assignment's name opens its source folder in JupyterLab
    frame.locator(".breadcrumb a", has_text="Manual Grading").click()  # back from the submission to the menu
    frame.wait_for_url("**/formgrader/gradebook")
    frame.locator("a", has_text="Manage Assignments").click()
    frame.wait_for_url("**/formgrader/manage_assignments")
    frame.locator("#main-table a", has_text=ASSIGNMENT).first.click()
    page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.ipynb").first.dblclick()
    model = page.locator(".jp-NotebookPanel .jp-MarkdownCell", has_text=MODEL_ANSWER).first
    model.scroll_into_view_if_needed()
    source_view = dict(path=page.locator(".jp-BreadCrumbs").inner_text(), text=model.inner_text())
    page.close()
    return dict(listed=listed, answer_text=answer_text, saves=saves, source_view=source_view)


@pytest.fixture(scope="module")
def feedback(lab, formgrader):
    """After grading by hand: `nbgrader export`, then `nbgrader generate_feedback --force` for the student."""
    course = lab["course"]
    for args in (("export",), ("generate_feedback", ASSIGNMENT, f"--student={STUDENT}", "--force")):
        done = subprocess.run(nbgrader(*args), cwd=course, env=venv_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    page = (course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    return dict(rows=rows, page=page)


def test_formgrader_lists_the_class(lab, formgrader):
    """Every student graded, and every student with a folder in submitted/ (those make grade could not grade too)."""
    with Gradebook(db_url(lab["course"])) as gb:
        graded = {s.id for s in gb.students}
    submitted = {p.name for p in (lab["course"] / "submitted").iterdir() if p.is_dir()}
    assert sorted(formgrader["listed"]) == sorted(graded | submitted)
    assert STUDENT in graded


def test_a_written_answer_graded_in_the_formgrader_is_saved(lab, formgrader):
    assert MODEL_ANSWER in formgrader["answer_text"]  # her answer, shown for grading (she wrote the model answer)
    assert formgrader["saves"] == [200, 200]
    with Gradebook(db_url(lab["course"])) as gb:
        grade = gb.find_grade(WRITTEN, ASSIGNMENT, ASSIGNMENT, STUDENT)
        comment = gb.find_comment(WRITTEN, ASSIGNMENT, ASSIGNMENT, STUDENT)
        assert (grade.manual_score, grade.needs_manual_grade, comment.manual_comment) == (float(SCORE), False, COMMENT)


def test_grades_csv_has_the_manual_score(feedback):
    """25 autograded points, and now 1.5 of Ex 3's written 2."""
    assert float(feedback["rows"][STUDENT]["score"]) == 25 + float(SCORE)


def test_regenerated_feedback_shows_the_score_and_comment(feedback):
    text = html.unescape(re.sub(r"<[^>]+>", "", feedback["page"]))
    assert f"Score: {float(SCORE)} / 2.0" in text
    assert COMMENT in text
    assert f"Score: {25 + float(SCORE)} / 42.0" in text


def test_the_model_answer_is_one_click_from_the_formgrader(formgrader):
    """The formgrader's assignment link opens source/vi_stars/ in JupyterLab; the source notebook shows the model
    answer of each written question, which the student's release does not have."""
    assert "source" in formgrader["source_view"]["path"] and ASSIGNMENT in formgrader["source_view"]["path"]
    assert MODEL_ANSWER in formgrader["source_view"]["text"]
    assert MODEL_ANSWER not in (ROOT / "release" / NOTEBOOK).read_text()


def validate(lab, which):
    """Open the student's copy in JupyterLab, press Validate in the notebook toolbar; the results dialog's text."""
    page = open_lab(lab, f"{STUDENT_COPIES}/{which}/{ASSIGNMENT}.ipynb")
    page.wait_for_function("document.body.innerText.includes('Python 3 (ipykernel) | Idle')", timeout=120_000)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=VALIDATE_TIMEOUT)
    result = dict(text=dialog.inner_text(), success=dialog.locator(".validation-success").count(),
                  failed=dialog.locator(".validation-failed").count())
    page.close()
    return result


def test_validate_passes_on_the_answered_release(lab):
    result = validate(lab, "answered")
    assert result["success"] == 1 and "Success! Your notebook passes all the tests." in result["text"]


def test_validate_lists_what_fails_on_the_untouched_release(lab):
    """Each written answer still "YOUR ANSWER HERE", and each test cell, failing on the code stubs."""
    result = validate(lab, "untouched")
    assert result["failed"] == 1 and "Success!" not in result["text"]
    written = [c for c in cells_by_id(read(ROOT / "source" / NOTEBOOK)).values()
               if c.cell_type == "markdown" and c.metadata.nbgrader.get("grade")]
    assert result["text"].count("You did not provide a response.") == len(written) == 10  # Exercises 3-12
    assert result["text"].count("The following cell failed:") == len(written) + len(autograded_points())
