"""Two grading hosts, one PostgreSQL gradebook: each grades its shard of the class, at the same time.

Starts a throw-away PostgreSQL server on 127.0.0.1 (Debian's `postgresql` package; `.ci/run` installs it).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

import nbformat

from grading import mutation
from grading.submissions import COURSE_FILES, ROOT, answered, autograded_points, copy_course, notebook, venv_env

VENV = Path(sys.prefix)
# On the second assignment, whose notebook runs faster: sharding is the same for both.
ASSIGNMENT = "vi_beyond"
POINTS = autograded_points(assignment=ASSIGNMENT)
_, WRONG_A2, _ = mutation.load_answers(ROOT / "tests" / "answers_beyond.py")[1]["a2_answer"][0]
STUDENTS = {  # sorted: host 1 gets honest, host 2 wrong_a2; what each earns
    "honest": ({}, POINTS),
    "wrong_a2": ({"a2_answer": WRONG_A2}, dict(POINTS, a2_test=0)),
}


def postgres_bin():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql")
    return found[-1].parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    bin_dir = postgres_bin()
    # PostgreSQL will not run as root: as root, the server runs as the `postgres` user, in a folder it owns
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    top = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    top.chmod(0o755)
    data = top / "data"
    data.mkdir()
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = lambda *args: subprocess.run(as_user + [str(bin_dir / args[0]), *args[1:]], check=True, capture_output=True)
    run("initdb", "-D", str(data), "-U", "grader", "--auth=trust")
    run("pg_ctl", "-D", str(data), "-w", "-l", str(data / "server.log"), "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "gradebook")
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(top, ignore_errors=True)


def test_two_hosts_grade_their_shards_into_one_postgresql_gradebook(tmp_path, postgres_url):
    hosts = []
    for k in (1, 2):
        (tmp_path / f"host{k}").mkdir()
        course = copy_course(tmp_path / f"host{k}", COURSE_FILES)
        for student, (answers, _) in STUDENTS.items():
            (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
            nbformat.write(answered(assignment=ASSIGNMENT, **answers), course / "submitted" / student / notebook(ASSIGNMENT))
        hosts.append(course)
    env = venv_env()
    make = ["make", "-o", f"{VENV}/.installed", f"VENV={VENV}", f"DB_URL={postgres_url}", f"ASSIGNMENT={ASSIGNMENT}"]
    release = subprocess.run(make + ["release"], cwd=hosts[0], env=env, capture_output=True, text=True)
    assert release.returncode == 0, release.stdout[-2000:] + release.stderr[-2000:]
    runs = [subprocess.Popen(make + ["grade", "JOBS=1", f"SHARD={k}/2"], cwd=course, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for k, course in enumerate(hosts, start=1)]
    outputs = [run.communicate()[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(out[-2000:] for out in outputs)
    with Gradebook(postgres_url) as gb:
        for student, (_, points) in STUDENTS.items():
            scores = {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).score for gid in points}
            assert scores == points
    # each host graded its own shard, and no host wrote a local SQLite gradebook
    assert [sorted(p.name for p in (course / "autograded").iterdir()) for course in hosts] == [["honest"], ["wrong_a2"]]
    assert not any((course / "gradebook.db").exists() for course in hosts)
