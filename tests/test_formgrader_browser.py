"""A hostile submission seen by the instructor: `make grade`, then the formgrader's page for it and its feedback in
headless Chromium, logged in to JupyterLab with the instructor's token. No script of the student's may run there.

The submission puts script everywhere nbconvert would render it live: raw HTML in a written answer (<script>,
<img onerror>, <svg onload>, an iframe with srcdoc, a javascript: link, an SVG attachment) and, from an answer
cell, HTML, SVG, JavaScript, markdown and widget outputs, plus widget state in the notebook's metadata. Each
script, if it ran, would set document.title, read source/ through /api/contents, PUT a file and POST to
/api/terminals. The last test renders the same submission through the formgrader's template without the
sanitizer, on the server's origin, and checks that the scripts then do run: the probes work.

Needs Debian's chromium and bubblewrap (`.ci/run` installs them); skipped where either is absent, except under
CI=true, where that fails. One submission is graded (~60 s) and one server and browser serve every test.
"""
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from grading.submissions import ASSIGNMENT, COURSE_FILES, NOTEBOOK, answered, cells_by_id, copy_course, venv_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
VENV = Path(sys.prefix)
STUDENT = "mallory"
ANSWER = "The posterior mean shrinks faint stars towards the prior mean"  # her written answer, which must stay readable

for needed, package in ((CHROMIUM, "chromium"), (shutil.which("bwrap"), "bubblewrap")):
    if not needed or not os.path.exists(needed):
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but {package} is not installed: .ci/run must apt-get install {package}")
        pytest.skip(f"needs Debian's {package} (apt-get install {package})", allow_module_level=True)


def probe(vector):
    """JavaScript that reports itself: the page's title, a read of source/, a file written, a terminal opened.

    No double quotes, so that it fits in an HTML attribute."""
    return ("(function(v){document.title='PWNED '+v;"
            "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
            "var h={'X-XSRFToken':x,'Content-Type':'application/json'};"
            "fetch('/api/contents/source/vi_stars/vi_stars.ipynb?probe='+v);"
            "fetch('/api/contents/PWNED-'+v+'.txt',{method:'PUT',headers:h,"
            "body:JSON.stringify({type:'file',format:'text',content:v})});"
            f"fetch('/api/terminals?probe='+v,{{method:'POST',headers:h}});}})('{vector}')")


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="' + probe("svg-output-onload") + '">'
       "<script>" + probe("svg-output-script") + "</script><circle cx='10' cy='10' r='5'/></svg>")
WRITTEN = "\n\n".join([
    ANSWER + ", more so where $\\sigma_f < \\sigma_{prior}$.",
    "<script>" + probe("markdown-script") + "</script>",
    'A figure: <img src="x" onerror="' + probe("markdown-img-onerror") + '">',
    '<svg onload="' + probe("markdown-svg-onload") + '"><circle r="3"/></svg>',
    '<iframe srcdoc="<script>' + probe("markdown-iframe").replace("'", "&#39;") + '</script>"></iframe>',
    "[details](javascript:" + probe("markdown-link") + ")",
    "![plot](attachment:plot.svg)",
])
OUTPUT_CODE = f'''
from IPython.display import HTML, SVG, Javascript, Markdown, display
import ipywidgets
display(HTML({'<b>html output</b><script>' + probe('html-output-script') + '</script>'
             '<img src="x" onerror="' + probe('html-output-img-onerror') + '">'!r}))
display(SVG({SVG!r}))
display(Javascript({probe('javascript-output')!r}))
display(Markdown({'markdown output <img src="x" onerror="' + probe('markdown-output-img-onerror') + '">'!r}))
display(ipywidgets.HTML({'<img src="x" onerror="' + probe('widget-img-onerror') + '">'!r}))
'''
# What those display calls put in the notebook; stored in the submission too, for the unsanitized control rendering.
OUTPUTS = [
    new_output("display_data", data={"text/html": '<b>html output</b><script>' + probe('html-output-script') + '</script>'
                                                  '<img src="x" onerror="' + probe('html-output-img-onerror') + '">',
                                     "text/plain": "<IPython.core.display.HTML object>"}),
    new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<IPython.core.display.SVG object>"}),
    new_output("display_data", data={"application/javascript": probe("javascript-output"),
                                     "text/plain": "<IPython.core.display.Javascript object>"}),
    new_output("display_data", data={"text/markdown": 'markdown output <img src="x" onerror="'
                                                      + probe('markdown-output-img-onerror') + '">',
                                     "text/plain": "<IPython.core.display.Markdown object>"}),
    new_output("display_data", data={"application/vnd.jupyter.widget-view+json":
                                     {"model_id": "0123abcd", "version_major": 2, "version_minor": 0},
                                     "text/plain": "HTML(value='...')"}),
]
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
    "0123abcd": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                 "state": {"value": '<img src="x" onerror="' + probe("widget-state") + '">'}}}}}


def hostile_submission(folder):
    """The reference answers, with live markup in the written answers and in the outputs of ex1's answer cell."""
    nb = answered()
    cells = cells_by_id(nb)
    cells["ex3_written"].source = WRITTEN
    cells["ex3_written"].attachments = {"plot.svg": {"image/svg+xml": base64.b64encode(SVG.encode()).decode()}}
    cells["ex4_written"].source = "<img src=x onerror=\"" + probe("second-answer") + "\"> Brighter stars win."
    cells["ex1_answer"].source += "\n" + OUTPUT_CODE
    cells["ex1_answer"].outputs = OUTPUTS
    nb.metadata.widgets = WIDGET_STATE
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    return nb


def gradebook_state(course):
    """Every grade and comment of the student's submission, as stored."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        grades = sorted((g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                        for g in notebook.grades)
        comments = sorted((c.name, c.auto_comment, c.manual_comment) for c in notebook.comments)
        return notebook.id, grades, comments


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    course = copy_course(tmp_path_factory.mktemp("course"), COURSE_FILES)
    submission = hostile_submission(course / "submitted" / STUDENT / ASSIGNMENT)
    start = time.perf_counter()
    run = subprocess.run(["make", "-o", f"{VENV}/.installed", "grade", f"VENV={VENV}", "JOBS=1", "CELL_TIMEOUT=60"],
                         cwd=course, env=venv_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    graded_in = time.perf_counter() - start
    submission_id, grades, comments = gradebook_state(course)

    home = tmp_path_factory.mktemp("jupyter")
    env = dict(venv_env(), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_CONFIG_DIR=str(home / "config"))
    port, token = free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "w")
    server = subprocess.Popen(  # as the instructor starts it: in the course directory, with a token
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--IdentityProvider.token={token}",
         "--ServerApp.ip=127.0.0.1", "--allow-root", f"--ServerApp.root_dir={course}", "--ServerApp.port_retries=0"],
        cwd=course, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (home / "server.log").read_text()[-2000:])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            # nothing leaves the machine (MathJax and the like come from CDNs): the test is offline and quick
            context.route(lambda url: not url.startswith(base), lambda route: route.abort())
            login = context.new_page()
            login.goto(f"{base}/formgrader?token={token}")  # the token logs the browser in (a cookie)
            login.wait_for_load_state("load")
            login.close()
            yield dict(course=course, base=base, token=token, context=context, submission=submission,
                       submission_id=submission_id, grades=grades, comments=comments, graded_in=graded_in,
                       report=run.stdout)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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
    print(f"graded in {session['graded_in']:.0f} s")


def test_formgrader_page_runs_no_student_script(session):
    url = f"{session['base']}/formgrader/submissions/{session['submission_id']}/"
    status, title, text, requests = visit(session, url)
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
