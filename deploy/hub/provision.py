"""Provision one machine for a class on JupyterHub, from a roster: run as root, once a term (again after a roster change).

    python deploy/hub/provision.py ROSTER.csv [--course-id vi-stars] [--srv /srv] [--share-packages-from SITE]

ROSTER.csv has a header `username,role`; role is `instructor` (exactly one), `grader` or `student`. It creates:

- one Unix user per person (`useradd -m`, home 0700), in the Unix group `<course>-graders` (instructor and graders)
  or `<course>-students`;
- the course directory `<srv>/courses/<course>` (source/, release/, the grading code, nbgrader_config.py, Makefile, cpu.env),
  owned by the instructor, group `<course>-graders`, mode 2770: nobody else can list or read it, gradebook.db and
  autograded/ included;
- nbgrader's exchange `<srv>/nbgrader/exchange` (1777: everyone may write, as nbgrader requires, and the sticky bit
  keeps anyone from renaming another's folder) with the course's folder in it owned by the instructor (no student can
  take its name first); nbgrader itself makes inbound/ write-only and feedback/ unlistable;
- the students' environment `<srv>/<course>/env`: a venv of a Python 3.11 (--python) holding the `course` package
  (installed, not a link to a checkout) and the requirements; no source/, tests/ or gradebook;
- `<srv>/<course>/jupyter-config/nbgrader_config.py` (the exchange and the course, for every server of the course)
  and `/etc/jupyterhub/<course>.json` (--settings), what deploy/hub/jupyterhub_config.py reads.

--share-packages-from SITE: take the heavy libraries (torch, numpy, ...) from an existing install of the same
requirements.txt with the same Python minor version, whose site-packages SITE every user can read, instead of
installing them again; the Jupyter applications and `course` are still installed in the environment itself. The
tests use it to stay within their time budget; a course machine installs everything (the default).
"""
import argparse
import csv
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("instructor", "grader", "student")
USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # what useradd accepts by default on Debian
# What the course directory holds: the instructor's copy of the course (never tests/, benchmarks/ or a venv).
COURSE_FILES = ("source", "release", "course", "grading", "nbgrader_config.py", "Makefile", "cpu.env", "requirements.txt",
                "pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT.md")
# Installed in the environment itself when the libraries are shared: these carry scripts (jupyter, nbgrader,
# jupyterhub-singleuser), data (JupyterLab's and nbgrader's lab extensions, kernelspecs, nbconvert templates) or
# server configuration, which a shared site-packages folder does not bring.
APPLICATIONS = ("jupyterlab", "jupyter_server", "jupyter_core", "jupyter_client", "nbgrader", "nbconvert",
                "ipykernel", "jupyterhub", "jupyterlab_widgets", "widgetsnbextension", "jupyter_server_terminals",
                "notebook_shim", "alembic")  # alembic: the command nbgrader runs to create and upgrade a gradebook
DEBIAN_PYTHON = "/usr/bin/python3.11"
# nbconvert's HTML (the formgrader's pages, the students' feedback) selects with soupsieve; the pinned 4.1.2 cannot
# parse a selector on Debian 12's Python 3.11.2 (3.11.7 can): checked on the environment before it is used
HTML_CHECK = "import soupsieve; soupsieve.compile('img:not([alt])')"


def read_roster(path):
    """{username: role} from a CSV file with the columns username, role."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or set(rows[0]) != {"username", "role"}:
        raise SystemExit(f"roster {path}: needs a header `username,role` and one row per person")
    roster = {}
    for n, row in enumerate(rows, start=2):
        name, role = row["username"].strip(), row["role"].strip()
        if not USERNAME.match(name):
            raise SystemExit(f"roster {path}, line {n}: username {name!r} must match {USERNAME.pattern}")
        if role not in ROLES:
            raise SystemExit(f"roster {path}, line {n}: role {role!r} must be one of {', '.join(ROLES)}")
        if name in roster:
            raise SystemExit(f"roster {path}, line {n}: {name} is listed twice")
        roster[name] = role
    instructors = [u for u, r in roster.items() if r == "instructor"]
    if len(instructors) != 1:
        raise SystemExit(f"roster {path}: needs exactly one instructor (the course directory's owner), has {instructors}")
    return roster


def run(*args):
    subprocess.run(args, check=True)


def ensure_group(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        run("groupadd", name)


def ensure_user(name, group):
    """The person's Unix user, in `group`, with a home folder only they can read."""
    try:
        pwd.getpwnam(name)
        run("usermod", "-a", "-G", group, name)
    except KeyError:
        run("useradd", "-m", "-s", "/bin/bash", "-G", group, name)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)


def chown_tree(path, user, group):
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            shutil.chown(name, user, group)


def course_directory(dest, instructor, group):
    """The instructor's copy of the course: 2770, so that graders share it and new files stay in the group. One that
    exists already is the instructor's work (edited sources, the gradebook, submissions): left as it is."""
    if dest.exists():
        return
    dest.mkdir(parents=True)
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    chown_tree(dest, instructor, group)
    for folder, dirs, files in os.walk(dest):
        os.chmod(folder, 0o2770)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o660)


def exchange(root, course_id, instructor):
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)
    course = root / course_id
    course.mkdir(exist_ok=True)
    shutil.chown(course, instructor, instructor)
    os.chmod(course, 0o755)


def environment(env, python=DEBIAN_PYTHON, share_from=None):
    """The venv every user's server runs in: `course` installed from this checkout, with the pinned requirements.
    python: the Python 3.11 it is made from, which every user must be able to run."""
    if not (env / "bin" / "python").exists():
        run(python, "-m", "venv", "--without-pip", str(env))
    pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--quiet",
           "--disable-pip-version-check"]
    requirements = str(ROOT / "requirements.txt")
    if share_from:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        (env / "lib" / version / "site-packages" / "shared-libraries.pth").write_text(f"{share_from}\n")
        # --ignore-installed: the shared folder already holds them, without their scripts and data here
        run(*pip, "--no-deps", "--ignore-installed", "-c", requirements, *APPLICATIONS)
        run(*pip, "--no-deps", str(ROOT))
    else:
        run(*pip, "-r", requirements)
        run(*pip, "--no-deps", str(ROOT))
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' build folder from installing the checkout
    # the Makefile's set-up stamp: `make grade VENV=<env>` in the course directory uses this venv as it is
    (env / ".installed").touch()
    for folder, dirs, files in os.walk(env):
        os.chmod(folder, 0o755)
    check = subprocess.run([str(env / "bin" / "python"), "-c", HTML_CHECK], capture_output=True, text=True)
    if check.returncode != 0:
        version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
        raise SystemExit(f"--python {python} ({version}) cannot run the pinned soupsieve, which renders the formgrader's "
                         f"pages and the feedback: give a later Python 3.11 (3.11.7 works)\n{check.stderr[-1000:]}")


def provision(roster, course_id, srv, settings_file, python=DEBIAN_PYTHON, share_from=None):
    """Everything the hub needs; returns the settings written for deploy/hub/jupyterhub_config.py."""
    graders, students = f"{course_id}-graders", f"{course_id}-students"
    for group in (graders, students):
        ensure_group(group)
    for name, role in roster.items():
        ensure_user(name, students if role == "student" else graders)
    instructor = next(u for u, r in roster.items() if r == "instructor")
    course_dir, exchange_root, env = srv / "courses" / course_id, srv / "nbgrader" / "exchange", srv / course_id / "env"
    srv.mkdir(parents=True, exist_ok=True)
    (srv / "courses").mkdir(exist_ok=True)
    os.chmod(srv / "courses", 0o755)
    course_directory(course_dir, instructor, graders)
    exchange(exchange_root, course_id, instructor)
    environment(env, python, share_from)
    # every server of the course reads this folder (JUPYTER_CONFIG_PATH, set by the hub): not /etc/jupyter, which
    # every Jupyter process on the machine reads, so that courses sharing a machine keep their exchanges apart
    jupyter_config = srv / course_id / "jupyter-config"
    jupyter_config.mkdir(parents=True, exist_ok=True)
    (jupyter_config / "nbgrader_config.py").write_text(
        "# Written by deploy/hub/provision.py: every server of the course finds the course's exchange here.\n"
        f"c = get_config()\nc.Exchange.root = {str(exchange_root)!r}\nc.CourseDirectory.course_id = {course_id!r}\n"
        "# Validate runs the whole notebook in the student's server: its slowest cell takes about 25 s alone on 2 cores\n"
        "c.Execute.timeout = 120\n")
    # students' servers load this configuration folder too: no formgrader and no assignment editor in their lab
    student_config = srv / course_id / "student-config"
    (student_config / "labconfig").mkdir(parents=True, exist_ok=True)
    (student_config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "nbgrader.server_extensions.formgrader": False}}}, indent=1))
    (student_config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
        "@jupyter/nbgrader:course-list": True}}, indent=1))
    settings = dict(course_id=course_id, instructor=instructor,
                    graders=sorted(u for u, r in roster.items() if r != "student"),
                    students=sorted(u for u, r in roster.items() if r == "student"),
                    course_dir=str(course_dir), exchange=str(exchange_root), environment=str(env),
                    jupyter_config=str(jupyter_config), student_config=str(student_config),
                    state=str(srv / course_id / "hub"))
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps(settings, indent=1) + "\n")
    return settings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roster", help="CSV file with the columns username,role")
    parser.add_argument("--course-id", default="vi-stars", help="the course's name in the exchange (nbgrader_config.py)")
    parser.add_argument("--srv", type=Path, default=Path("/srv"), help="where the course, exchange and venv go")
    parser.add_argument("--settings", type=Path, help="where to write the hub's settings "
                        "(default /etc/jupyterhub/<course>.json, where deploy/hub/jupyterhub_config.py looks)")
    parser.add_argument("--python", default=DEBIAN_PYTHON, help="the Python 3.11 the students' environment is made "
                        "from, runnable by every user (default: Debian's; 3.11.2, Debian 12's, is too old for the pins)")
    parser.add_argument("--share-packages-from", metavar="SITE", help="site-packages of an install of requirements.txt")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("provision.py creates users and groups: run it as root")
    if not USERNAME.match(args.course_id):
        raise SystemExit(f"--course-id {args.course_id!r} must match {USERNAME.pattern} (it names Unix groups)")
    settings_file = args.settings or Path(f"/etc/jupyterhub/{args.course_id}.json")
    settings = provision(read_roster(args.roster), args.course_id, args.srv.resolve(), settings_file, args.python,
                         args.share_packages_from)
    print(f"provisioned {args.course_id}: {len(settings['students'])} students, {len(settings['graders'])} graders; "
          f"course directory {settings['course_dir']}; settings in {settings_file}")


if __name__ == "__main__":
    main()
