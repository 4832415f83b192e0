"""A class on the course's JupyterHub (deploy/hub), in headless Chromium: each person sees only their own.

The test provisions a roster of Unix users it creates (an instructor and two students; removed afterwards) with
deploy/hub/provision.py, starts the hub on 127.0.0.1 with the test-only authenticator (tests/hub_config.py) and runs
the README's "On a JupyterHub" path: the instructor releases vi_stars; each student logs in, fetches it from the
Assignments tab, answers it (the answers are written into the fetched notebook as that student: one right, one with
a wrong Ex 2), presses Validate and Submit there; the instructor collects, runs `make grade`, gives one written
answer a score in the formgrader through the hub, regenerates and releases the feedback; each student fetches
their feedback in the Assignments tab and opens it. Then, as each student: the other's home, the other's
submission in the exchange, the course's source/, autograded/ and gradebook.db are unreadable, and the formgrader
is refused.

Needs root (users, and a hub that starts servers as them), Debian's chromium, node/npm (the proxy) and bubblewrap;
skipped where one is missing, except under CI=true, where that fails (.ci/run installs them).
"""
import contextlib
import csv
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from corpus import WRONG_EX2
from grading.submissions import ASSIGNMENT, NOTEBOOK, answered, autograded_points, cells_by_id, read, total_points
from hub_python import runnable_python, shared_site_packages
from lab_server import CHROMIUM, CHROMIUM_ARGS, free_port

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "deploy" / "hub"

for missing, why in ((os.geteuid() != 0, "creates Unix users and starts servers as them: run as root"),
                     (not os.path.exists(CHROMIUM), "needs Debian's chromium (apt-get install chromium)"),
                     (not shutil.which("npm"), "needs node and npm (the hub's configurable-http-proxy)"),
                     (not shutil.which("bwrap"), "needs bubblewrap (make grade's sandbox)"),
                     (not shutil.which("patchelf"), "needs patchelf (an interpreter the test users can run)")):
    if missing:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but the hub test cannot run: it {why}")
        pytest.skip(why, allow_module_level=True)

COURSE_ID = "vi-stars"
INSTRUCTOR, HONEST, WRONG = "t20teach", "t20honest", "t20wrong"  # names no real account is likely to have
STUDENTS = (HONEST, WRONG)
ANSWERS = {HONEST: {}, WRONG: {"ex2_answer": WRONG_EX2}}
TIMEOUT = 300_000  # ms: a first server start imports torch; Validate runs the whole notebook (~50 s on 2 cores)


def as_user(user, settings, command, check=True):
    """`command` in bash as `user` in the course directory, with the environment their hub server has (the
    instructor's terminal in JupyterLab); the completed process."""
    home = pwd.getpwnam(user).pw_dir
    env = {"HOME": home, "USER": user, "LANG": "C.UTF-8", "JUPYTER_CONFIG_PATH": settings["jupyter_config"],
           "PATH": f"{settings['environment']}/bin:/usr/local/bin:/usr/bin:/bin"}
    done = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                           "bash", "-c", command], cwd=settings["course_dir"] if user == INSTRUCTOR else home,
                          capture_output=True, text=True)
    assert done.returncode == 0 or not check, f"{command} as {user}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def stop_users(signal_name="TERM"):
    """End every process of the test's own users (their servers, kernels and the formgrader service)."""
    for user in (INSTRUCTOR, *STUDENTS):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            subprocess.run(["pkill", f"-{signal_name}", "-u", user])


def remove_users():
    stop_users("KILL")
    time.sleep(0.5)
    for user in (INSTRUCTOR, *STUDENTS):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            subprocess.run(["userdel", "-r", user], capture_output=True)
    for group in (f"{COURSE_ID}-graders", f"{COURSE_ID}-students"):
        subprocess.run(["groupdel", group], capture_output=True)


def wait_for(url, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def hub():
    """Provisioned users, course and exchange, and the hub on 127.0.0.1; removed afterwards."""
    remove_users()  # what an interrupted run left
    srv = Path(tempfile.mkdtemp(prefix="hub-", dir="/tmp"))
    os.chmod(srv, 0o755)
    roster = srv / "roster.csv"
    with open(roster, "w", newline="") as f:
        csv.writer(f).writerows([("username", "role"), (INSTRUCTOR, "instructor"), *((s, "student") for s in STUDENTS)])
    process = None
    try:
        if not (HUB / "node_modules" / ".bin" / "configurable-http-proxy").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HUB, check=True, capture_output=True)
        share = shared_site_packages()
        python = runnable_python(srv / "python")
        done = subprocess.run([sys.executable, str(HUB / "provision.py"), str(roster), "--srv", str(srv), "--python",
                               python, "--settings", str(srv / "hub.json"),
                               *(["--share-packages-from", share] if share else [])], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        settings = json.loads((srv / "hub.json").read_text())
        port, password = free_port(), secrets.token_hex(8)
        env = dict(os.environ, HUB_SETTINGS=str(srv / "hub.json"), HUB_IP="127.0.0.1", HUB_PORT=str(port),
                   HUB_PROXY_API_PORT=str(free_port()), HUB_API_PORT=str(free_port()),
                   HUB_FORMGRADER_PORT=str(free_port()), HUB_TEST_PASSWORD=password,
                   PATH=f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin")
        log = open(srv / "hub.log", "w")
        started = time.time()
        process = subprocess.Popen([str(Path(sys.prefix) / "bin" / "jupyterhub"), "-f",
                                    str(ROOT / "tests" / "hub_config.py")], cwd=srv, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/hub/api", 120)
        yield dict(settings, base=base, password=password, srv=srv, startup=time.time() - started, log=srv / "hub.log")
    finally:
        stop_users()  # first their servers and the formgrader service, which the hub's own clean-up waits on
        if process:
            process.terminate()  # the hub stops its proxy
            try:
                process.wait(timeout=5)  # it then waits on a service already gone: its state is thrown away anyway
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int((srv / COURSE_ID / "hub" / "proxy.pid").read_text()), signal.SIGTERM)
        remove_users()
        shutil.rmtree(srv, ignore_errors=True)


def login(browser, hub, user):
    """A browser context logged in to the hub as `user`, on their JupyterLab (the hub starts it)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{hub['base']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub["password"])
    page.click("#login_submit")
    return page


def assignments_tab(page, user):
    page.wait_for_url(f"**/user/{user}/lab**", timeout=TIMEOUT)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click(timeout=TIMEOUT)
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
    page.get_by_text("Released assignments").wait_for(timeout=60_000)


def validate_result(page):
    """The text of the dialog Validate opens, once the notebook has run; the dialog closed."""
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')",
                           timeout=TIMEOUT)
    text = dialog.inner_text()
    dialog.locator("button.jp-mod-accept, button").last.click()
    return text


@pytest.fixture(scope="module")
def cycle(hub):
    """The whole cycle, once; what each step showed, for the tests below."""
    from playwright.sync_api import sync_playwright

    seen = {"startup": hub["startup"], "course": Path(hub["course_dir"])}
    course, exchange = Path(hub["course_dir"]), hub["exchange"]
    env = hub["environment"]
    seen["release"] = as_user(INSTRUCTOR, hub, f"make release VENV={env} && nbgrader release_assignment {ASSIGNMENT}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {s: login(browser, hub, s) for s in STUDENTS}  # both servers start at once
        for student, page in pages.items():
            assignments_tab(page, student)
            page.locator("#released_assignments_list button", has_text="Fetch").click(timeout=60_000)
        for student, page in pages.items():
            page.locator("#fetched_assignments_list button", has_text="Submit").wait_for(timeout=60_000)
            home = Path(pwd.getpwnam(student).pw_dir)
            fetched = home / NOTEBOOK
            seen.setdefault("fetched", {})[student] = fetched.read_text()
            nbformat.write(answered(**ANSWERS[student]), fetched)  # the student's answers, saved
            shutil.chown(fetched, student, student)
            page.locator("#fetched_assignments_list .assignment-notebooks-link").click()
            page.locator("#fetched_assignments_list button", has_text="Validate").click()
        for student, page in pages.items():  # both notebooks run at once
            seen.setdefault("validate", {})[student] = validate_result(page)
        for student, page in pages.items():
            page.locator("#fetched_assignments_list button", has_text="Submit").click()
            page.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=60_000)

        seen["collect"] = as_user(INSTRUCTOR, hub, f"nbgrader collect {ASSIGNMENT}")
        seen["grade"] = as_user(INSTRUCTOR, hub, f"make grade VENV={env}")
        seen["manual"] = grade_by_hand(browser, hub, course)
        seen["feedback"] = as_user(INSTRUCTOR, hub, f"nbgrader generate_feedback {ASSIGNMENT} --force && "
                                                    f"make release-feedback VENV={env} EXCHANGE={exchange}")
        for student, page in pages.items():
            page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").click()
            link = page.locator("#submitted_assignments_list a", has_text="view feedback")
            link.wait_for(timeout=60_000)
            link.click()  # the file browser opens the feedback's folder
            crumbs = page.locator(".jp-BreadCrumbs", has_text="feedback")
            crumbs.wait_for(timeout=30_000)
            folder = crumbs.inner_text()
            feedback = next((Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / "feedback").rglob("*.html"))
            relative = feedback.relative_to(pwd.getpwnam(student).pw_dir)
            page.goto(f"{hub['base']}/user/{student}/files/{relative}")
            seen.setdefault("feedback_page", {})[student] = (folder, page.inner_text("body"))
        seen["refused"] = refused_pages(browser, hub, pages)
        browser.close()
    seen["reads"] = {s: forbidden_reads(hub, s) for s in STUDENTS}
    return seen


def grade_by_hand(browser, hub, course):
    """The instructor, through the hub, types a score into one written answer of the honest student's; the
    (grade id, score) given and the formgrader response's status."""
    from nbgrader.api import Gradebook

    written = [gid for gid, cell in cells_by_id(read(course / "source" / NOTEBOOK)).items()
               if cell.cell_type == "markdown" and "points" in cell.metadata.nbgrader]
    grade_id = written[0]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, HONEST).id
    page = login(browser, hub, INSTRUCTOR)
    page.wait_for_url(f"**/user/{INSTRUCTOR}/lab**", timeout=TIMEOUT)
    page.goto(f"{hub['base']}/services/{COURSE_ID}/formgrader/submissions/{submission_id}/")
    score = page.locator(f"input.score[id='{grade_id}']")
    score.wait_for(timeout=60_000)
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        score.click()
        score.press_sequentially("1")
        score.press("Tab")  # leaving the box saves it
    page.context.close()
    return grade_id, saved.value.status


def refused_pages(browser, hub, pages):
    """What each student's browser gets for the formgrader and for the other student's server: {(who, what): status}."""
    found = {}
    for student, page in pages.items():
        other = next(s for s in STUDENTS if s != student)
        for what, url in (("formgrader", f"/services/{COURSE_ID}/formgrader"),
                          ("own formgrader", f"/user/{student}/formgrader"),
                          ("other's files", f"/user/{other}/files/{NOTEBOOK}"),
                          ("other's lab", f"/user/{other}/lab")):
            response = page.goto(hub["base"] + url)
            found[student, what] = (response.status, page.url)
    return found


def forbidden_reads(hub, student):
    """{what: True when `student` could read it} for what no student may read."""
    other = next(s for s in STUDENTS if s != student)
    course, inbound = hub["course_dir"], f"{hub['exchange']}/{COURSE_ID}/inbound"
    paths = {"other's home": pwd.getpwnam(other).pw_dir,
             "other's notebook": f"{pwd.getpwnam(other).pw_dir}/{NOTEBOOK}",
             "source/": f"{course}/source/{NOTEBOOK}", "autograded/": f"{course}/autograded",
             "gradebook.db": f"{course}/gradebook.db", "course directory": course}
    tries = {what: f"cat {path} >/dev/null 2>&1 || ls {path} >/dev/null 2>&1" for what, path in paths.items()}
    tries["exchange inbound"] = f"ls {inbound} >/dev/null 2>&1"
    tries["other's submission"] = f"cat {inbound}/{other}+{ASSIGNMENT}+*/{ASSIGNMENT}.ipynb >/dev/null 2>&1"
    return {what: as_user(student, hub, command, check=False).returncode == 0 for what, command in tries.items()}


def test_the_hub_starts_the_instructors_release_and_records_its_start_up_time(cycle):
    assert "Released as: vi-stars vi_stars" in cycle["release"].stderr + cycle["release"].stdout
    print(f"hub start-up: {cycle['startup']:.1f} s")


def test_each_student_fetches_the_release_from_the_assignments_tab(cycle):
    release = (ROOT / "release" / NOTEBOOK).read_text()
    assert cycle["fetched"] == {s: release for s in STUDENTS}


def test_validate_passes_the_right_answers_and_names_the_failing_cell(cycle):
    assert "Success! Your notebook passes all the tests." in cycle["validate"][HONEST]
    wrong = cycle["validate"][WRONG]
    assert "Success" not in wrong and "The following cell failed:" in wrong and "background_fraction" in wrong


def test_collect_and_make_grade_score_the_two_submissions(cycle):
    course = cycle["course"]
    for student in STUDENTS:
        assert (course / "submitted" / student / NOTEBOOK).is_file()
    total = sum(autograded_points().values())
    with open(course / "grades.csv") as f:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert scores[HONEST] == total > scores[WRONG]
    assert scores[WRONG] == total - autograded_points()["ex2_test"]


def test_the_instructor_grades_a_written_answer_in_the_formgrader_through_the_hub(cycle):
    from nbgrader.api import Gradebook

    grade_id, status = cycle["manual"]
    assert status == 200
    with Gradebook(f"sqlite:///{cycle['course'] / 'gradebook.db'}") as gb:
        grades = {g.name: g.manual_score for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, HONEST).grades}
    assert grades[grade_id] == 1.0


def test_each_student_opens_their_own_feedback_with_their_scores(cycle):
    total = sum(autograded_points().values())
    earned = {HONEST: total + 1, WRONG: total - autograded_points()["ex2_test"]}  # + the score given by hand
    assert "feedback released through" in cycle["feedback"].stdout
    for student in STUDENTS:
        folder, text = cycle["feedback_page"][student]
        assert "feedback" in folder, folder
        assert f"Score: {earned[student]:.1f} / {total_points():.1f}" in text, text[:500]


def test_no_student_opens_the_formgrader_or_the_other_students_server(cycle):
    for (student, what), (status, url) in cycle["refused"].items():
        if what == "own formgrader":
            assert status == 404, (student, what, status, url)  # students' servers have no formgrader
        else:
            assert status == 403 or "/hub/login" in url, (student, what, status, url)


def test_no_student_reads_the_others_work_the_source_or_the_gradebook(cycle):
    """As each student's Unix user: every read below fails (the exchange's inbound/ takes submissions but lists
    none, so the other's submission, under a name with a random part, cannot be found)."""
    for student, reads in cycle["reads"].items():
        assert not any(reads.values()), (student, {what for what, ok in reads.items() if ok})
