import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for benchmarks.lab_formulation, the plain reference implementation

import course  # noqa: E402


@pytest.fixture(scope="session")
def data():
    """The lab's data set: seed 0, n = 16."""
    return course.simulate()


@pytest.fixture(scope="session")
def grid(data):
    return course.grid_posterior(data)


def require_bubblewrap():
    """Grading runs in a bubblewrap sandbox: skip on a laptop without it, but never under CI (.ci/run installs it)."""
    if shutil.which("bwrap") is None and os.environ.get("CI") != "true":
        pytest.skip("grading runs in a bubblewrap sandbox: apt-get install bubblewrap")


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# Students of the class who hand in through nbgrader's exchange (release, fetch, submit, collect), as the
# README's cycle runs; the rest are placed in submitted/ as an instructor copying in a class would.
THROUGH_EXCHANGE = ("honest", "wrong_ex2")
# `make grade JOBS=` of the graded classes: two notebooks at a time on 2 cores; one under `make test`'s two workers
# (pytest-xdist), where another class or the hub grades beside it, so that no kernel gets much less than a core
CLASS_JOBS = "JOBS=1" if os.environ.get("PYTEST_XDIST_WORKER") else "JOBS=2"


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """One class graded by the instructor's own `make grade` (CLASS_JOBS), read by every grading test and by the
    course-cycle test: the corpus of honest, careless and hostile submissions (tests/corpus.py), two of them
    handed in through nbgrader's exchange; the mutation tests of tests/answers.py, packed into the corpus's
    submissions and a few of their own; the submission with live markup the formgrader browser test opens.
    Grading runs every notebook for real (20-60 s each), so it runs once.

    The course is a whole copy, its `course` and `grading` packages included, in a folder the venv's editable
    install does not point at: it must grade with its own packages (the sandbox binds this folder's course).
    """
    import corpus
    import markup
    from exchange import Exchange
    from grading import batch, mutation
    from grading.submissions import ASSIGNMENT, COURSE_FILES, autograded_points, copy_course, venv_env

    require_bubblewrap()
    tmp = tmp_path_factory.mktemp("moved")
    course_dir = copy_course(tmp / "course-copy", COURSE_FILES + ("course", "grading"))
    listener = socket.create_server(("127.0.0.1", 0))  # what the hostile submission tries to reach
    listener.settimeout(0.1)
    makers = dict(corpus.CORPUS, hostile=lambda folder, **answers: corpus.hostile(
        folder, probe_port=listener.getsockname()[1], **answers))
    makers[markup.STUDENT] = lambda folder, **answers: (markup.hostile_submission(folder, **answers), corpus.FULL)[1]
    # the answers of the mutation tests ride in the corpus's submissions: correct ones first in those that earn full
    # marks, wrong ones first in cells that those losing points of their own leave alone; the submission the
    # formgrader browser test opens keeps its full marks
    full_hosts = [mutation.Host(s) for s in ("renamed", "hostile", "spy", "odd_but_honest")]
    full_hosts.append(mutation.Host(markup.STUDENT, carries=frozenset({"equivalent"})))
    mutant_hosts = [mutation.Host(student, frozenset(busy), frozenset(
        t for t, points in makers[student](tmp / "probe" / student).items() if points < corpus.FULL[t]))
        for student, busy in corpus.MUTANT_HOSTS.items()]
    packed, cases = mutation.pack(*mutation.load_answers(ROOT / "tests" / "answers.py"), autograded_points(),
                                  full_hosts + mutant_hosts)

    def write(student, folder):
        expected = makers[student](folder, **packed.pop(student, {}))
        mutants = [c for c in cases if c.student == student and c.kind == "mutant"]
        return expected and {t: 0 if any(t in c.tests for c in mutants) else p for t, p in expected.items()}

    exchange = Exchange(tmp, course_dir, THROUGH_EXCHANGE)
    expected, fetched = exchange.hand_in(write)
    expected.update({student: write(student, course_dir / "submitted" / student / ASSIGNMENT)
                     for student in makers if student not in THROUGH_EXCHANGE})
    mutation.write_class(course_dir, packed)
    (course_dir / batch.SECRET_FILE).write_text(corpus.CLASS_SECRET + "\n")  # its hidden cases, fixed
    submitted = snapshot(course_dir / "submitted")
    # -o: the venv is already set up; never re-install it from the copy. Cell timeout 90 s: Exercise 9's cell
    # takes 10-30 s (the slowest of its mutants twice that) with a core to itself, and the endless loops reach it sooner.
    run = subprocess.run(["make", "-o", f"{sys.prefix}/.installed", "grade", f"VENV={sys.prefix}", CLASS_JOBS,
                          "CELL_TIMEOUT=90"], cwd=course_dir, env=venv_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    try:
        connection = listener.accept()
    except TimeoutError:
        connection = None
    listener.close()
    return dict(course=course_dir, expected=expected, submitted=submitted, stdout=run.stdout, connection=connection,
                mutation=(cases, full_hosts + mutant_hosts), students=set(expected) | {c.student for c in cases},
                exchange=exchange, fetched=fetched)
