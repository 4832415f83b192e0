"""Grade every submission of the assignment: sandboxed, in parallel, and always to the end of the batch.

    python -m grading.batch [--jobs N] [--sandbox off] [--cell-timeout S]     (or: make grade JOBS=N)

1. grades the reference solution first, in the same sandbox, into a throw-away gradebook (the canary):
   unless it earns every point of every autograder test, nothing is graded and the report names each failing
   test and its message (answers graded by hand are not its business: grading.cells);
2. checks each submitted/<student>/ and stages a repaired copy (grading.preflight);
3. runs `nbgrader autograde` for each student in its own process, N at a time, each kernel in a
   bubblewrap sandbox (grading.sandbox) with one torch thread;
4. writes feedback without hidden tests (grading.feedback) and grades.csv;
5. prints a report, one line per student (also written to grading-report.txt): the score, what was
   repaired, where a run was stopped, and why a submission could not be graded.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from tqdm.auto import tqdm
from traitlets.config.loader import PyFileConfigLoader

from grading import assignments, delegation, grader_memory, limits, preflight, references, sandbox
from grading.hidden_cases import SECRET_FILE, course_secret, write_submission_key  # noqa: F401 (SECRET_FILE: make grade's file)
from grading.cells import autograder_points, is_autograder_test
from grading.limits import Limits, UserLimits
from grading.submissions import ASSIGNMENT, answered, nbgrader, venv_env

REPORT = "grading-report-{}.txt"  # one per assignment
SHARED_MEMORY = Path("/dev/shm")
CANARY = "reference-solution"
LIMIT_POLL = 0.5  # seconds between two looks at whether a kernel reached its process limit


class CanaryFailed(RuntimeError):
    """The reference solution did not earn full autograded marks: grading this class would be wrong."""


@dataclass
class Outcome:
    student: str
    notes: list
    error: str = ""      # why it was not graded
    score: float = None
    max_score: float = None
    stopped: str = ""    # where and why the run stopped early, if it did


def course_directory(root, db_url=None):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if db_url:
        config.CourseDirectory.db_url = db_url
    return CourseDirectory(config=config)


def environment(**extra):
    """The environment of an nbgrader process: the venv first on PATH, one thread, no parent kernel's pid."""
    env = dict(venv_env(), OMP_NUM_THREADS="1", **extra)
    env.pop("JPY_PARENT_PID", None)
    return env


def ensure_assignment(db_url, course_id, root, assignment=ASSIGNMENT, release=None):
    """Record the assignment and its tests in the gradebook, from source/, if it is not there yet.

    release: a folder to keep the release made on the way in (release/ itself is left as committed)."""
    with Gradebook(db_url, course_id) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(nbgrader("generate_assignment", assignment, f"--CourseDirectory.release_directory={release or scratch}",
                                f"--CourseDirectory.db_url={db_url}"),
                       cwd=root, env=environment(), check=True, capture_output=True)


def autograder_tests(root, assignment):
    """{notebook path (as grading.assignments names it): {grade_id: points}} of the assignment's autograder tests."""
    return {path: autograder_points(nbformat.read(Path(root) / "source" / path, as_version=4))
            for path in assignments.notebooks(assignment, root)}


def student_cells(nb):
    """The notebook with only the code its student wrote: answer cells and cells of their own (not tests, not the
    release's locked cells)."""
    kept = nbformat.from_dict(dict(nb, cells=[c for c in nb.cells if not is_autograder_test(c)
                                              and not c.metadata.get("nbgrader", {}).get("locked")]))
    return kept


def autograde(student, root, db_url, staging, scratch, sandboxed, cell_timeout, student_timeout, autograded=None,
              limited="none", assignment=ASSIGNMENT, memory=grader_memory.DEFAULT_MIB):
    """Run `nbgrader autograde` for one student; returns (exit code, or None on time-out; the log's tail; the
    limits it ran into, e.g. ["the process limit (256)"]; where and why the run stopped early, or "").
    limited: how its kernel is limited (grading.limits.choose): "cgroups" of its own, a user of its own ("uids"),
    or "none". memory: the MiB of address space of the nbgrader process itself (grading.grader_memory)."""
    job = Path(scratch) / student
    share = job / "share"
    share.mkdir(parents=True)
    # the one folder of the host the kernel writes to (its sockets): in memory, which the kernel's memory
    # cgroup is charged for, so that what it writes there counts against its limit
    ipc = Path(tempfile.mkdtemp(prefix="ipc-", dir=SHARED_MEMORY if SHARED_MEMORY.is_dir() else job))
    autograded = Path(autograded or Path(root, "autograded")).resolve()
    groups = None
    # the hidden cases of this submission alone (grading.hidden_cases), from the course's secret
    key = write_submission_key(course_secret(root), assignment, student, Path(staging) / student / assignment,
                               job / "hidden-cases.key")
    args = nbgrader("autograde", assignment, f"--student={student}", "--force",
                    f"--CourseDirectory.submitted_directory={staging}", f"--CourseDirectory.autograded_directory={autograded}",
                    f"--CourseDirectory.db_url={db_url}", f"--Execute.timeout={cell_timeout}",
                    f"--GuardedExecute.stops_file={job / 'stops.jsonl'}",
                    f"--GuardedExecute.secret_file={key}")
    if sandboxed:
        work = autograded / student / assignment  # where nbgrader runs the kernel; it sees what was staged
        if limited == "cgroups":
            groups = Limits(f"{os.getpid()}-{hashlib.sha256(student.encode()).hexdigest()[:16]}").create()
        else:
            groups = UserLimits(writable=[ipc]).create() if limited == "uids" else None
        kernel = sandbox.write_kernelspec(share, work, ipc, Path(staging) / student / assignment, wrap=groups.wrap if groups else None,
                                          user=groups.user if limited == "uids" else None)
        args += [f"--Execute.kernel_name={kernel}", f"--GuardedExecute.ipc_dir={ipc}"]
    env = environment(JUPYTER_PATH=str(share))
    with open(job / "log.txt", "w+") as log:
        proc = subprocess.Popen(grader_memory.command(args, memory), cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline, code = time.monotonic() + student_timeout, None
        while code is None and time.monotonic() < deadline:
            try:
                code = proc.wait(timeout=min(LIMIT_POLL, max(0.01, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                # A fork bomb held at the process limit still spins on a core, and its kernel (in the same
                # group) barely moves: the notebook would hold a job until student_timeout. No honest notebook
                # comes near the limit, so its kernel is ended there; nbgrader goes on with the next cells.
                if groups is not None and groups.exhausted():
                    groups.kill()
        if code is None:
            os.killpg(proc.pid, signal.SIGKILL)  # nbgrader, its kernel and anything the kernel started
            proc.wait()
        log.seek(0)
        tail = log.read()[-2000:]
    hit = []
    if sandboxed and groups is not None:
        hit = groups.hit()
        groups.remove()
    shutil.rmtree(ipc, ignore_errors=True)
    return code, tail, hit, stopped_reason(job / "stops.jsonl")


def autograded_scores(gb, student, tests, assignment=ASSIGNMENT, name=None):
    """{grade_id: score} the gradebook holds for the student's autograder tests of one notebook (`tests`: {grade_id:
    points}; name: the notebook's name without .ipynb, by default the assignment's own).

    Not nbgrader's code_score: that sums every graded code cell, a code answer graded by hand included."""
    return {gid: gb.find_grade(gid, name or assignment, assignment, student).score for gid in tests}


def shortfall(tests, scores, graded):
    """"" if every autograder test earned its points, else why not: the total, then each failing test by grade_id
    with its message (the last error its cell shows), in notebook order. graded: the autograded notebook.

    For an assignment of several notebooks, each argument is a dict {notebook name: that notebook's}, and each
    failing test is named with its notebook (`problem1/correct_squares`)."""
    if "cells" in graded:  # one notebook
        tests, scores, graded = {"": tests}, {"": scores}, {"": graded}
    failed, earned, full = [], 0, 0
    for name, nb in graded.items():
        messages = {}
        for cell in nb.cells:
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"] if is_autograder_test(cell) else []
            if errors:
                messages[cell.metadata.nbgrader.grade_id] = f"{errors[-1].ename}: {errors[-1].evalue}"
        got = scores[name]
        earned, full = earned + sum(got.get(g) or 0 for g in tests[name]), full + sum(tests[name].values())
        failed += [f"{name + '/' if name else ''}{gid} ({got.get(gid) or 0:g} of {points:g}): "
                   f"{messages.get(gid, 'no error in its output (a partial score, or the cell is missing)')}"[:300]
                   for gid, points in tests[name].items() if (got.get(gid) or 0) < points]
    return f"it scored {earned:g} of {full:g} autograded points; " + "; ".join(failed) if failed else ""


def canary(root, course_id, scratch, sandboxed, cell_timeout, student_timeout, limited="none", assignment=ASSIGNMENT,
           memory=grader_memory.DEFAULT_MIB):
    """Grade the reference solution as a student would submit it, in the sandbox the class gets, into a
    throw-away gradebook; raise CanaryFailed, naming each failing test and why, unless every autograder test
    earns its points. Answers graded by hand cannot be earned here, so they are no part of the target."""
    folder = Path(scratch) / "canary"
    db_url = f"sqlite:///{folder / 'gradebook.db'}"
    folder.mkdir(parents=True)
    ensure_assignment(db_url, course_id, root, assignment, release=folder / "release")
    # the reference solution handed in as a student hands in: the release's files, its answers filled in
    shutil.copytree(folder / "release" / assignment, folder / "submitted" / CANARY / assignment)
    tests = autograder_tests(root, assignment)
    for path in tests:
        nbformat.write(answered(root, assignment, path, release=folder / "release"), folder / "submitted" / CANARY / path)
    code, tail, _, _ = autograde(CANARY, root, db_url, folder / "submitted", folder / "jobs", sandboxed, cell_timeout,
                                 student_timeout, autograded=folder / "autograded", limited=limited,
                                 assignment=assignment, memory=memory)
    if grader_memory.ran_out(code, tail):
        raise CanaryFailed(grader_memory.why(memory))
    if code != 0:
        raise CanaryFailed(f"nbgrader could not grade it: {(tail.strip().splitlines() or ['?'])[-1]}")
    several = len(tests) > 1
    name = {path: Path(path).stem if several else "" for path in tests}
    with Gradebook(db_url, course_id) as gb:
        scores = {name[p]: autograded_scores(gb, CANARY, t, assignment, Path(p).stem) for p, t in tests.items()}
    graded = {name[p]: nbformat.read(folder / "autograded" / CANARY / p, as_version=4) for p in tests}
    why = shortfall({name[p]: t for p, t in tests.items()}, scores, graded)
    if why:
        raise CanaryFailed(why)


def stopped_reason(stops_file):
    """Where the graded run stopped early, or '': from the file GuardedExecute writes beside the job, outside the
    sandbox. Never from the notebook: a student's own exception can carry any name and message."""
    path = Path(stops_file)
    lines = path.read_text().splitlines() if path.is_file() else []
    if not lines:
        return ""
    stop = json.loads(lines[0])
    return f"stopped in {stop['cell']}: {stop['why']}"


def collect(coursedir, outcome, tests, assignment=ASSIGNMENT):
    """The student's autograded points into `outcome`, for the report. tests: {notebook path: {grade_id: points}}
    (autograder_tests); a notebook nbgrader found missing scores 0 there, as in the gradebook."""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            gb.find_submission(assignment, outcome.student)
        except MissingEntry:
            outcome.error = outcome.error or "nbgrader recorded no submission"
            return
        outcome.score = sum(score or 0 for path, points in tests.items()
                            for score in autograded_scores(gb, outcome.student, points, assignment, Path(path).stem).values())
        outcome.max_score = sum(sum(points.values()) for points in tests.values())


def parse_shard(text):
    """'K/N' -> (K, N): this host grades the K-th of N shares of the students (sorted by name)."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise ValueError(f"shard must be K/N with 1 <= K <= N, e.g. 2/3, got {text!r}")
    return k, n


def grade_all(root, jobs, sandboxed, cell_timeout, student_timeout, db_url=None, shard=(1, 1), progress=True,
              check_reference=True, limited=None, assignment=ASSIGNMENT, memory=grader_memory.DEFAULT_MIB):
    """Grade every student in submitted/ (or this host's shard of them); returns [Outcome], sorted by student.

    check_reference: grade the reference solution first (the canary); only benchmarks turn it off.
    limited: how kernels are limited (grading.limits.choose, the default when sandboxed).
    assignment: which of the course's assignments.
    memory: MiB of address space for each submission's grading process (grading.grader_memory).
    """
    root = Path(root).resolve()
    coursedir = course_directory(root, db_url)
    submitted = root / "submitted"
    folders = submitted.iterdir() if submitted.is_dir() else []
    # a student's folder counts when it holds this assignment (even as a link, which preflight refuses and reports)
    students = sorted(p.name for p in folders if p.is_dir() and not p.name.startswith(".")
                      and os.path.lexists(p / assignment))[shard[0] - 1::shard[1]]
    paths = assignments.notebooks(assignment, root)
    if not students:
        raise SystemExit(f"no submissions: expected submitted/<student>/{paths[0]}")
    releases = {Path(p).name: nbformat.read(root / "source" / p, as_version=4) for p in paths}
    declared = references.declared(assignment, root)  # a bad entry stops grading here, before anything runs
    released = {name: delegation.Release.of(nb) for name, nb in releases.items()}
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        if sandboxed:
            sandbox.check(Path(scratch) / "check")
        ensure_assignment(coursedir.db_url, coursedir.course_id, root, assignment)
        limited = (limited or limits.choose()) if sandboxed else "none"
        if check_reference:
            canary(root, coursedir.course_id, scratch, sandboxed, cell_timeout, student_timeout, limited, assignment,
                   memory)
        staging = Path(scratch) / "staged"
        checked = [preflight.stage(s, submitted, staging, assignment, releases, root / "source" / assignment)
                   for s in students]
        outcomes = {c.student: Outcome(c.student, c.notes, c.error) for c in checked}
        gradable = [c.student for c in checked if c.gradable]
        for student in gradable:  # what the grader should look at by hand: the staged notebooks, read, never run
            for path in paths:
                if (staging / student / path).is_file():
                    staged = nbformat.read(staging / student / path, as_version=4)
                    outcomes[student].notes += [(f"{Path(path).name}: " if len(paths) > 1 else "") + note
                                                for note in delegation.notes(student_cells(staged), declared,
                                                                             released[Path(path).name])]
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            for student in gradable:  # created here, once: the parallel runs then only add their scores
                gb.update_or_create_student(student)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(autograde, s, root, coursedir.db_url, staging, Path(scratch) / "jobs", sandboxed,
                                   cell_timeout, student_timeout, limited=limited, assignment=assignment,
                                   memory=memory): s
                       for s in gradable}
            for future in tqdm(as_completed(futures), total=len(futures), desc="autograding", unit="notebook",
                               disable=not progress):
                outcome = outcomes[futures[future]]
                code, tail, hit, outcome.stopped = future.result()
                outcome.notes += [f"ran into {what}: the cells it could not run lost their points" for what in hit]
                if code is None:
                    outcome.error = f"grading ran past {student_timeout} s and was stopped"
                elif grader_memory.ran_out(code, tail):
                    outcome.error = grader_memory.why(memory)
                elif code != 0:
                    outcome.error = "nbgrader could not grade it: " + (tail.strip().splitlines() or ["?"])[-1]
        for outcome in outcomes.values():
            if not outcome.error:
                collect(coursedir, outcome, autograder_tests(root, assignment), assignment)
    return [outcomes[s] for s in students]


def feedback_and_export(root, db_url, outcomes=(), assignment=ASSIGNMENT):
    """Feedback for every autograded student (none when nothing could be graded), then grades.csv; returns
    "" or why grades.csv could not be written.

    nbgrader goes on past a notebook it cannot turn into feedback and fails at the end: each graded student of
    `outcomes` whose feedback is missing afterwards gets a note saying so, and the batch still ends with its CSV.
    """
    coursedir = course_directory(root, db_url)
    env, url = environment(), f"--CourseDirectory.db_url={coursedir.db_url}"
    if list(Path(root).glob(f"autograded/*/{assignment}/*.ipynb")):
        start = time.time()
        run = subprocess.run(nbgrader("generate_feedback", assignment, "--force", url), cwd=root, env=env,
                             capture_output=True, text=True)
        for outcome in outcomes:
            graded = Path(root, "autograded", outcome.student, assignment).glob("*.ipynb")
            pages = [Path(root, "feedback", outcome.student, assignment, f"{nb.stem}.html") for nb in graded]
            if not outcome.error and (not pages or any(not p.is_file() or p.stat().st_mtime < start - 1 for p in pages)):
                why = [line for line in run.stdout.splitlines() + run.stderr.splitlines() if "rror" in line][-1:]
                outcome.notes.append("NO FEEDBACK: nbgrader could not write it" + (f" ({why[0][-200:]})" if why else ""))
    export = subprocess.run(nbgrader("export", "--to", "grades.csv", url), cwd=root, env=env, capture_output=True,
                            text=True)
    return "" if export.returncode == 0 else f"grades.csv NOT written: nbgrader export failed: {export.stderr[-500:]}"


def report(outcomes, sandboxed, jobs, seconds, limited="none", assignment=ASSIGNMENT):
    if not sandboxed:
        kernels = "NOT SANDBOXED (--sandbox off): student code ran with your permissions"
    elif limited == "cgroups":
        kernels = (f"sandboxed (bubblewrap), each submission limited to {limits.PROCESSES} processes, "
                   f"{limits.MEMORY / 2**30:g} GiB and one core (cgroups)")
    elif limited == "uids":
        kernels = (f"sandboxed (bubblewrap), each submission run as a user of its own limited to {limits.PROCESSES} "
                   "processes (RLIMIT_NPROC); NO per-submission memory or CPU limits: the cgroup controllers are not "
                   "writable here (each process is still capped at 3 GiB)")
    else:
        kernels = ("sandboxed (bubblewrap); NO per-submission process or memory limits: the cgroup controllers "
                   "are not writable here (each process is still capped at 3 GiB)")
    lines = [f"{assignment}: {len(outcomes)} submissions, {jobs} at a time, {seconds:.0f} s; kernels {kernels}"]
    for o in outcomes:
        status = (f"NOT GRADED: {o.error}" if o.error else f"{o.score:g} / {o.max_score:g} autograded points")
        lines.append(f"{o.student:<24} {status}")
        lines += [f"{'':<24}   {note}" for note in o.notes + ([o.stopped] if o.stopped else [])]
    ungraded = sum(bool(o.error) for o in outcomes)
    lines.append(f"graded {len(outcomes) - ungraded} of {len(outcomes)}; written answers wait in the formgrader")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="notebooks graded at once (default: cores)")
    parser.add_argument("--sandbox", choices=["on", "off"], default="on",
                        help="'off' runs student code with your permissions, and the report says so")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run")
    parser.add_argument("--student-timeout", type=int, default=900, help="seconds one whole notebook may take")
    parser.add_argument("--db-url", help="the gradebook (default: nbgrader_config.py's); e.g. postgresql://...")
    parser.add_argument("--grader-memory", default=str(grader_memory.DEFAULT_MIB), metavar="MIB",
                        help="MiB of address space for each submission's grading process, outside the sandbox "
                        f"(default {grader_memory.DEFAULT_MIB}; make: GRADER_MEMORY=)")
    parser.add_argument("--shard", default="1/1", help="K/N: grade the K-th of N shares of the students, "
                        "for N hosts grading into one PostgreSQL gradebook (default: all)")
    parser.add_argument("--assignment", help="which assignment to grade: a folder of source/ (default: the course's "
                        "first, nbgrader_config.py's c.Course.assignments)")
    args = parser.parse_args(argv)
    try:
        args.assignment = assignments.check(args.assignment, Path.cwd(), "--assignment") if args.assignment \
            else assignments.first(Path.cwd())
    except ValueError as err:
        parser.error(str(err))
    if args.jobs < 1:
        parser.error(f"--jobs must be 1 or more, got {args.jobs}")
    try:
        shard = parse_shard(args.shard)
        memory = grader_memory.parse(args.grader_memory)
    except ValueError as err:
        parser.error(str(err))
    root, sandboxed, assignment = Path.cwd(), args.sandbox == "on", args.assignment
    try:
        references.declared(assignment, root)  # the exercises' declared references: checked before anything runs
    except ValueError as err:
        raise SystemExit(f"{references.CONFIG}: {err}") from None
    report_file = REPORT.format(assignment)
    limited = limits.choose() if sandboxed else "none"
    os.environ["PATH"] = environment()["PATH"]  # this process opens the gradebook too
    start = time.perf_counter()
    try:
        outcomes = grade_all(root, args.jobs, sandboxed, args.cell_timeout, args.student_timeout, args.db_url, shard,
                             limited=limited, assignment=assignment, memory=memory)
    except sandbox.SandboxUnavailable as err:
        # installing bubblewrap is the fix only when it is missing; otherwise the message says what failed
        fix = "Install bubblewrap (apt-get install bubblewrap)" if isinstance(err, sandbox.BubblewrapMissing) else \
            "Fix what failed (above)"
        raise SystemExit(f"cannot grade safely: {err}\n{fix}, or grade unsandboxed on purpose with "
                         "`make grade SANDBOX=off` (student code then runs as you).")
    except CanaryFailed as err:
        text = (f"{assignment}: NOTHING GRADED. The reference solution, graded first in the same sandbox, did not "
                f"score full marks, so grades of this class would be wrong.\nWhy: {err}\n")
        (root / report_file).write_text(text)
        raise SystemExit(text + f"(this report: {report_file}; fix the tests in source/ or the set-up, then grade again)")
    export_error = feedback_and_export(root, args.db_url, outcomes, assignment)
    text = report(outcomes, sandboxed, args.jobs, time.perf_counter() - start, limited, assignment)
    text += f"{export_error}\n" if export_error else ""
    (root / report_file).write_text(text)
    print(text + f"Scores: grades.csv; feedback: feedback/<student>/{assignment}/<notebook>.html; "
                 f"this report: {report_file}")


if __name__ == "__main__":
    main()
