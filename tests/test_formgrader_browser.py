"""A hostile submission seen by the instructor: `make grade`, then the formgrader's page for it and its feedback in
headless Chromium, logged in to JupyterLab with the instructor's token. No script of the student's may run there.

The submission puts script everywhere nbconvert would render it live: raw HTML in a written answer (<script>,
<img onerror>, <svg onload>, an iframe with srcdoc, a javascript: link, an SVG attachment) and, from an answer
cell, HTML, SVG, JavaScript, markdown and widget outputs, plus widget state in the notebook's metadata. Each
script, if it ran, would set document.title, read source/ through /api/contents, PUT a file and POST to
/api/terminals. The last test renders the same submission through the formgrader's template without the
sanitizer, on the server's origin, and checks that the scripts then do run: the probes work.

The same page is graded by hand: her ex3_written also names, in headings, ids and anchors inside a collapsed
<details>, every later grade's boxes, and a score typed into it must change that one grade; below each written answer
the grader reads its model answer and rubric from source/ (never in her feedback); and her ex3_answer, which calls
the engine's own reference 600 spaces to the right, carries a note and wraps into view.

Needs Debian's chromium and bubblewrap (`.ci/run` installs them); skipped where either is absent, except under
CI=true, where that fails. The submission is graded with the whole test class (tests/conftest.py, graded_class);
one server and browser serve every test.
"""
import json
import os
import shutil
import time
import urllib.request

import nbformat
import pytest

import lab_server
from grading.submissions import ASSIGNMENT, NOTEBOOK
from lab_server import CHROMIUM, CHROMIUM_ARGS
from grading.rubric import model_answers
from grading.submissions import ROOT, read
from markup import ANSWER, HIDDEN_CALL, SHADOWED, STUDENT


for needed, package in ((CHROMIUM, "chromium"), (shutil.which("bwrap"), "bubblewrap")):
    if not needed or not os.path.exists(needed):
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but {package} is not installed: .ci/run must apt-get install {package}")
        pytest.skip(f"needs Debian's {package} (apt-get install {package})", allow_module_level=True)


def gradebook_state(course):
    """Every grade and comment of the student's submission, as stored."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        grades = sorted((g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                        for g in notebook.grades)
        comments = sorted((c.name, c.auto_comment, c.manual_comment) for c in notebook.comments)
        return notebook.id, grades, comments


def restore_grades(course, state):
    """Put back the scores of `state` (gradebook_state): a test that grades by hand leaves the class as it found it."""
    from nbgrader.api import Gradebook

    stored = {name: (manual, extra, needs) for name, _, manual, extra, needs in state[1]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for grade in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).grades:
            grade.manual_score, grade.extra_credit, grade.needs_manual_grade = stored[grade.name]
        gb.db.commit()


def first_words(model):
    """The model answer's first line after its label, up to the first markup (LaTeX, code, emphasis): text that reads
    the same in the source and on the page."""
    line = model.split("**Model answer.**", 1)[-1].strip().splitlines()[0]
    for mark in "$`*_\\[":
        line = line.split(mark)[0]
    return line.strip()


MODEL_ANSWERS = model_answers(read(ROOT / "source" / NOTEBOOK))
OWN_ANSWERS = ("ex3_written", "ex4_written")  # the written answers she wrote herself (tests/markup.py); the others
# are the model answer's text



@pytest.fixture(scope="module")
def session(tmp_path_factory, graded_class):
    """The class graded once for every grading test (tests/conftest.py), with her among them."""
    from playwright.sync_api import sync_playwright

    course = graded_class["course"]
    submission = nbformat.read(course / "submitted" / STUDENT / NOTEBOOK, as_version=4)
    submission_id, grades, comments = gradebook_state(course)

    home = tmp_path_factory.mktemp("jupyter")
    with lab_server.server(course, home) as (base, token), sync_playwright() as p:  # as the instructor starts it
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        # nothing leaves the machine (MathJax and the like come from CDNs): the test is offline and quick
        context.route(lambda url: not url.startswith(base), lambda route: route.abort())
        login = context.new_page()
        login.goto(f"{base}/formgrader?token={token}")  # the token logs the browser in (a cookie)
        login.wait_for_load_state("load")
        login.close()
        yield dict(course=course, base=base, token=token, context=context, submission=submission,
                   submission_id=submission_id, grades=grades, comments=comments, report=graded_class["stdout"])
        browser.close()



def visit(session, url, settle=2.0):
    """Open url in a new tab; (response status, the page's title after it settled, its visible text, requests made)."""
    page = session["context"].new_page()
    requests = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    response = page.goto(url, referer=f"{session['base']}/lab")  # followed from JupyterLab, as the instructor does
    page.wait_for_load_state("load")
    page.wait_for_timeout(settle * 1000)  # onerror handlers and fetches fire within milliseconds
    result = response.status if response else None, page.title(), page.inner_text("body"), requests
    page.close()
    return result


@pytest.fixture(scope="module")
def grading_page(session):
    """The formgrader's page for her submission, opened once as `visit` opens a page (followed from JupyterLab, left to
    settle), and kept open for the tests that grade by hand on it. {page, status, title, text, requests}: what it
    showed and asked for before any test touched it."""
    page = session["context"].new_page()
    requests = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    with page.expect_response(lambda r: "/formgrader/api/grades" in r.url), \
            page.expect_response(lambda r: "/formgrader/api/comments" in r.url):  # the grades, bound to their boxes
        response = page.goto(f"{session['base']}/formgrader/submissions/{session['submission_id']}/",
                             referer=f"{session['base']}/lab")
    page.wait_for_load_state("load")
    page.wait_for_timeout(2000)  # onerror handlers and fetches fire within milliseconds
    yield dict(page=page, status=response.status if response else None, title=page.title(),
               text=page.inner_text("body"), requests=list(requests))
    page.close()


def student_requests(requests):
    return [r for r in requests if "/api/contents" in r or "/api/terminals" in r or "probe=" in r]


def api(session, path):
    with urllib.request.urlopen(f"{session['base']}{path}?token={session['token']}", timeout=10) as response:
        return json.loads(response.read())


def test_grading_scores_the_hostile_submission_like_any_other(session):
    """Her answers are the reference solution: every autograded point, as if nothing were sanitized afterwards."""
    from grading.submissions import autograded_points

    autograded = {name: auto for name, auto, *_ in session["grades"] if name in autograded_points()}
    assert autograded == autograded_points()
    assert f"{STUDENT:<24} 25 / 25 autograded points" in session["report"]


def test_formgrader_page_runs_no_student_script(grading_page):
    status, title, text, requests = (grading_page[k] for k in ("status", "title", "text", "requests"))
    assert status == 200
    assert "PWNED" not in title and title == NOTEBOOK.split("/")[-1].replace(".ipynb", "")
    assert student_requests(requests) == []
    assert any("/formgrader/api/" in r for r in requests)  # the formgrader's own scripts did run
    assert ANSWER in text and "Brighter stars win." in text  # her answers are there to grade
    assert "<script>(function(v){document.title='PWNED '+v;" in text  # the script, shown as text
    assert "Removed from this output before grading: application/javascript" in text


def test_feedback_runs_no_student_script(session):
    url = f"{session['base']}/files/feedback/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.html"
    status, title, text, requests = visit(session, url)
    assert status == 200
    assert "PWNED" not in title and student_requests(requests) == []
    assert ANSWER in text and "Brighter stars win." in text


def test_nothing_was_written_run_or_graded_by_the_student(session):
    assert not list(session["course"].rglob("PWNED-*"))
    assert api(session, "/api/terminals") == []
    assert gradebook_state(session["course"]) == (session["submission_id"], session["grades"], session["comments"])


def test_control_the_same_submission_rendered_unsanitized_runs_its_scripts(session):
    """What the formgrader would serve without grading.sanitize: nbgrader's formgrade template on the submission as
    submitted, served from the server's origin. The probes fire there, so their silence above means something."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = dict(assignment_id=ASSIGNMENT, notebook_id=ASSIGNMENT, submission_id=session["submission_id"], index=0,
                     total=1, base_url="", student=STUDENT, last_name=None, first_name=None, notebook_path="")
    page, _ = HTMLExporter(config=config).from_notebook_node(nbformat.from_dict(session["submission"]),
                                                             resources=resources)
    control_url = f"{session['base']}/formgrader/unsanitized-control"
    session["context"].route(control_url, lambda route: route.fulfill(status=200, content_type="text/html", body=page))
    try:
        status, title, text, requests = visit(session, control_url, settle=3.0)
    finally:
        session["context"].unroute(control_url)
    assert title.startswith("PWNED ")
    fired = {r.split("probe=")[1] for r in student_requests(requests) if "probe=" in r and r.startswith("GET ")}
    assert {"markdown-script", "markdown-img-onerror", "markdown-svg-onload", "markdown-iframe", "second-answer",
            "html-output-script", "html-output-img-onerror", "javascript-output",
            "markdown-output-img-onerror"} <= fired, fired
    assert any(r.startswith("POST ") and "/api/terminals" in r for r in requests)
    deadline = time.time() + 10
    while not list(session["course"].glob("PWNED-*")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(session["course"].glob("PWNED-*")), "the control's PUT wrote no file: the no-file check proves nothing"


def test_a_score_typed_into_one_written_answer_changes_that_grade_only(session, grading_page):
    """Her ex3_written holds, inside a collapsed <details>, the names of every later grade's score, comment and extra
    credit boxes, as headings, raw ids and anchor names, and links to them (tests/markup.py, SHADOWS). The grader
    types 2 into ex3_written's box and leaves it: the gradebook then differs from before by that one score."""
    course = session["course"]
    before = gradebook_state(course)
    page = grading_page["page"]
    saves, answered = [], []
    page.on("request", lambda r: saves.append(r.url) if r.method == "PUT" else None)
    page.on("requestfinished", lambda r: answered.append(r.url) if r.method == "PUT" else None)
    try:
        score = page.locator(f"input.score[id='{SHADOWED}']")
        assert score.count() == 1
        with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
            score.click()
            score.press_sequentially("2")
            score.press("Tab")  # leaving the box saves it
        assert saved.value.status == 200
        page.wait_for_timeout(1500)  # every save the change set off has been sent by now
        for _ in range(100):
            if len(answered) >= len(saves):
                break
            page.wait_for_timeout(100)
        after = gradebook_state(course)
    finally:
        restore_grades(course, before)
    changed = sorted(set(after[1]) - set(before[1]))
    assert [(name, manual) for name, _, manual, *_ in changed] == [(SHADOWED, 2.0)], changed
    assert after[2] == before[2] and len(saves) == 1, saves  # no comment changed, and one score was sent


def test_each_written_answer_shows_its_model_answer_and_rubric_below_it(grading_page):
    """The grader reads each written answer with the instructor's model answer and rubric from source/ right below
    it (grading/templates/formgrade_rubric); her own answers stay in their cells."""
    page = grading_page["page"]
    assert set(MODEL_ANSWERS) == {gid for gid in MODEL_ANSWERS if page.locator(f"input.score[id='{gid}']").count()}
    for gid, model in MODEL_ANSWERS.items():
        answer = page.locator(".cell", has=page.locator(f"input.score[id='{gid}']"))
        rubric = answer.locator("xpath=following-sibling::div[1]")
        assert rubric.is_visible(), gid
        assert "Model answer and rubric" in rubric.inner_text() and first_words(model) in rubric.inner_text(), gid
        if gid in OWN_ANSWERS:  # the model answer is not hers, and not in her answer's cell
            assert first_words(model) not in answer.inner_text(), gid
        below, above = rubric.bounding_box(), answer.bounding_box()
        assert 0 <= below["y"] - (above["y"] + above["height"]) < 40, gid  # directly below its answer
    assert ANSWER in page.locator(".cell", has=page.locator(f"input.score[id='{SHADOWED}']")).inner_text()


def test_the_feedback_holds_no_model_answer(session):
    """Her feedback (nbgrader's feedback template) shows her answers only: no rubric panel, and none of the model
    answers of the two written answers she wrote herself (the others she copied from the model answer)."""
    feedback = (session["course"] / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert ANSWER in feedback and "Brighter stars win." in feedback
    assert "Model answer and rubric" not in feedback and "model-answer" not in feedback
    for gid in OWN_ANSWERS:
        assert first_words(MODEL_ANSWERS[gid]) not in feedback, gid


def test_a_call_hidden_off_to_the_right_is_flagged_and_in_view(session, grading_page):
    """Her ex3_answer names the engine's own reference 600 spaces to the right of a line of its own (tests/markup.py).
    The autograded notebook carries a note below that cell, which the formgrader shows beside her code, and the code
    box wraps the line, so the call is inside the box; no other cell of hers is flagged for a reference."""
    autograded = nbformat.read(session["course"] / "autograded" / STUDENT / NOTEBOOK, as_version=4)
    flagged = {c.metadata.get("nbgrader", {}).get("grade_id"): o["data"]["text/plain"] for c in autograded.cells
               if c.cell_type == "code" for o in c.outputs if "Grading note" in o.get("data", {}).get("text/plain", "")}
    assert sorted(flagged) == ["ex1_answer", "ex3_answer"]  # ex1_answer's display calls are long lines too
    assert "uses the engine's own references (check it by hand): course.vi.neg_elbo" in flagged["ex3_answer"]
    assert "1 line(s) wider than" in flagged["ex3_answer"] and "references" not in flagged["ex1_answer"]
    page = grading_page["page"]
    cell = page.locator(".cell", has=page.locator("textarea[id='ex3_answer-comment']"))
    assert "Grading note for the instructor: this cell uses the engine's own references" in cell.inner_text()
    code = cell.locator(".input_area pre")
    assert HIDDEN_CALL.split(" = ")[0] in code.inner_text()
    inside = code.evaluate("""pre => {
        const box = pre.getBoundingClientRect();
        const call = [...pre.querySelectorAll('span')].filter(s => s.textContent === 'neg_elbo').pop();
        const at = call.getBoundingClientRect();
        return {left: at.left >= box.left, right: at.right <= box.right, scroll: pre.scrollWidth <= pre.clientWidth};
    }""")
    assert inside == {"left": True, "right": True, "scroll": True}
