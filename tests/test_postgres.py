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

import peer_course
from conftest import require_bubblewrap
from grading.submissions import COURSE_FILES, copy_course, venv_env

VENV = Path(sys.prefix)
# On nbgrader's own documentation course (tests/peer_course.py), whose notebooks run in a moment: sharding is the
# same for every assignment, and stock nbgrader's scores of its two submissions are known, cell for cell.
ASSIGNMENT = peer_course.ASSIGNMENT


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
    require_bubblewrap()
    hosts = []
    for k in (1, 2):
        (tmp_path / f"host{k}").mkdir()
        course = copy_course(tmp_path / f"host{k}", COURSE_FILES)
        peer_course.add_to(course)  # every host holds the whole class; each grades its shard (sorted by name:
        # host 1 bitdiddle, host 2 hacker)
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
        for student in peer_course.STUDENTS:
            for name in peer_course.NOTEBOOKS:
                stock = peer_course.stock_scores(student, name)
                ours = {gid: gb.find_grade(gid, name, ASSIGNMENT, student).auto_score for gid in stock}
                assert ours == stock, (student, name)
    # each host graded its own shard, and no host wrote a local SQLite gradebook
    assert [sorted(p.name for p in (course / "autograded").iterdir()) for course in hosts] == [["bitdiddle"], ["hacker"]]
    assert not any((course / "gradebook.db").exists() for course in hosts)
