"""The instructor's cycle on a copy of the course: `make grade` on a class of honest, careless and hostile
submissions (tests/corpus.py), then scores, report, feedback and CSV; release and validation.

Grading runs every submission's notebook for real (20-60 s each), so the corpus is graded once, two at a
time, by the instructor's own command, and the tests read its results.
"""
import ast
import csv
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import corpus
import peer_course
from conftest import require_bubblewrap, snapshot
from grading import batch, mutation, sandbox
from grading.feedback import hidden_lines, visible_source
from grading.submissions import (ASSIGNMENT, ASSIGNMENTS, COURSE_FILES, NOTEBOOK, ROOT, autograded_points,
                                 cells_by_id, copy_course, nbgrader, notebook, read, venv_env)


VENV = Path(sys.prefix)
SOURCE = read(ROOT / "source" / NOTEBOOK)
AUTOGRADED_POINTS = autograded_points()


@pytest.fixture(scope="module")
def graded(graded_class):
    """The class graded once for all grading tests: tests/conftest.py."""
    return graded_class


def autograded_scores(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {gid: gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).score for gid in AUTOGRADED_POINTS}


@pytest.mark.parametrize("student", [s for s in corpus.CORPUS] + ["mallory"])
def test_each_submission_gets_the_points_it_earned(graded, student):
    expected = graded["expected"][student]
    if expected is None:
        with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
            assert student not in {s.id for s in gb.students}
    else:
        assert autograded_scores(graded["course"], student) == expected


def test_correct_answers_in_other_styles_earn_every_point_and_wrong_ones_lose_theirs(graded):
    """Mutation testing of the tests: 100% of equivalent answers full, 100% of mutants caught."""
    cases, hosts = graded["mutation"]
    scores = mutation.scores(f"sqlite:///{graded['course'] / 'gradebook.db'}", {c.student for c in cases},
                             AUTOGRADED_POINTS)
    outcome = mutation.judge_cases(cases, scores, AUTOGRADED_POINTS, hosts)
    print(mutation.table(outcome, AUTOGRADED_POINTS))
    assert sum(c.kind == "equivalent" for c in cases) >= 3 * 10 and sum(c.kind == "mutant" for c in cases) >= 6 * 10
    failed = [(c.kind, c.answer_id, c.name, why) for c, ok, why in outcome if not ok]
    assert not failed, failed


def test_reference_solution_is_worth_every_autograded_point():
    assert sum(AUTOGRADED_POINTS.values()) == 25


def test_report_says_what_was_repaired_stopped_and_not_graded(graded):
    report = (graded["course"] / batch.REPORT.format(ASSIGNMENT)).read_text()
    assert report in graded["stdout"]
    assert "sandboxed (bubblewrap)" in report.splitlines()[0]
    lines = {line.split()[0]: line for line in report.splitlines()[1:] if line and not line.startswith(" ")}
    assert "NOT GRADED: vi_stars.ipynb is not valid JSON" in lines["invalid_json"]
    assert "NOT GRADED: vi_stars.ipynb is a symbolic link (to ../../../source/vi_stars/vi_stars.ipynb)" in lines["linked_notebook"]
    assert "NOT GRADED: submitted/linked_folder/vi_stars is a symbolic link" in lines["linked_folder"]
    assert "NOT GRADED: vi_stars.ipynb is JSON nested too deeply" in lines["deep_json"]
    assert "NOT GRADED: vi_stars.ipynb is in notebook format 5.99" in lines["future_format"]
    assert "25 / 25 autograded points" in lines["honest"] and "0 / 25 autograded points" in lines["blank"]
    for note in ["graded vi_stars (1).ipynb, submitted in place of vi_stars.ipynb",
                 "cell ex4_answer appeared more than once; graded its last copy",
                 "answer cell ex1_answer had lost its nbgrader metadata; restored",
                 "left out extra files: course.py",
                 "stopped in ex6_answer: the kernel died while running this cell",
                 "stopped in ex6_answer: this cell ran past 90 s and ignored the interrupt",
                 "cell ex3_written shows attachments it does not have: figure.png",
                 "cell 12 had grade_id bonus, which the assignment does not have; graded as a plain cell",
                 "left out symbolic links (never followed): data, solution.ipynb"]:
        assert note in report
    total = len(graded["students"])
    ungraded = sum(expected is None for expected in graded["expected"].values())
    assert f"graded {total - ungraded} of {total}" in report


def test_hostile_code_reached_nothing_outside_its_folder(graded):
    course = graded["course"]
    answer = cells_by_id(read(course / "autograded" / "hostile" / NOTEBOOK))["ex1_answer"]
    printed = "".join(out.get("text", "") for out in answer.outputs)
    found = corpus.json.loads(printed.split("FINDINGS ", 1)[1].splitlines()[0])
    for attempt in ["read_source", "read_gradebook", "write_other_student", "network",
                    "allocate_4GB", "write_1GB_file", "fill_tmp"]:
        assert found[attempt].startswith("refused"), (attempt, found[attempt])
    assert found["environment"] == "[]"  # no tokens or keys of the grader's environment
    assert found["sandbox_environment"] == "''"  # bubblewrap itself (PID 1 inside) started with none
    assert graded["connection"] is None, "the sandboxed kernel reached a server on the grading machine"
    assert not (course / "PWNED").exists() and not list(course.rglob("PWNED"))
    assert not list(course.rglob("big.bin")) and not list(course.rglob("fill*"))  # written in memory, then gone


def test_submissions_are_left_as_submitted(graded):
    assert snapshot(graded["course"] / "submitted") == graded["submitted"]


def visible_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def hidden_only_lines(source=SOURCE):
    """Lines only hidden tests have (not `import math`, nor `torch.manual_seed(0)`, which an answer has too)."""
    hidden, shown = set(), set()
    for cell in source.cells:
        hidden |= hidden_lines(cell.source)
        shown |= {line.strip() for line in visible_source(cell.source).splitlines()}
    return {line for line in hidden - shown if len(line) > 12}


def test_feedback_shows_no_hidden_test_code(graded):
    hidden = hidden_only_lines()
    assert len(hidden) > 40
    for student, expected in graded["expected"].items():
        if expected is None:
            continue
        text = visible_text(graded["course"] / "feedback" / student / NOTEBOOK.replace(".ipynb", ".html"))
        leaked = hidden & {line.strip() for line in text.splitlines()}
        assert not leaked, (student, sorted(leaked)[:3])


def test_feedback_keeps_visible_test_messages_and_scores(graded):
    text = visible_text(graded["course"] / "feedback" / "messy" / NOTEBOOK.replace(".ipynb", ".html"))
    assert "----> 8 assert _shape == tuple(_rate.shape)" in text  # the visible test's own traceback
    assert "AssertionError: compare with img_rate.size() for the lab's sizes" in text
    assert "Score: 0.0 / 2.0" in text and "Score: 2.0 / 2.0" in text


def test_hooks_in_the_kernel_saw_no_test_code(graded):
    """The spy's hooks ran on every cell the kernel received: answers, and the judge's requests; no test."""
    nb = read(graded["course"] / "autograded" / "spy" / NOTEBOOK)
    spied = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "SPIED: __grading__.lookup('flux_summary')" in spied and "SPIED: __grading__.call(0, " in spied
    assert not [line for line in hidden_only_lines() if line in spied]
    assert "BEGIN HIDDEN" not in spied and "_want" not in spied


def recorded_cases(course, student):
    """The arguments of Exercise 7's calls that a submission's own function recorded and printed from a later cell
    (corpus.record_hidden_calls), without the visible test's call, as read from its feedback."""
    text = visible_text(course / "feedback" / student / NOTEBOOK.replace(".ipynb", ".html"))
    lines = [line for line in text.splitlines() if line.startswith(corpus.RECORDED)]
    assert len(lines) == 1, (student, lines)
    calls = ast.literal_eval(lines[0][len(corpus.RECORDED):].strip())
    return [tuple(call) for call in calls if tuple(call) != (16, 15, 64)]


def test_hidden_cases_a_submission_can_learn_are_its_own(graded):
    """A function may keep the hidden test's arguments and print them later, into the feedback; every submission
    meets cases of its own (grading.hidden_cases), so neither another submission nor the course secret alone
    gives those cases back: the replayer's table of them (corpus.replayer) loses its points."""
    spy, odd = (recorded_cases(graded["course"], s) for s in ("spy", "odd_but_honest"))
    assert len(spy) == len(odd) == 2 and all(len(call) == 3 for call in spy + odd)  # the hidden test's two calls
    course_wide = [c for c in corpus.course_wide_cases()["ex7_answer"] if c != (16, 15, 64)]
    assert len({tuple(spy), tuple(odd), tuple(course_wide)}) == 3
    # what it printed while called: from the visible line, kept; from the hidden ones, dropped
    text = visible_text(graded["course"] / "feedback" / "spy" / NOTEBOOK.replace(".ipynb", ".html"))
    assert f"{corpus.CALLED} (16, 15, 64)" in text
    assert not [call for call in spy if f"{corpus.CALLED} {call}" in text]
    scores = autograded_scores(graded["course"], "replayer")
    assert scores["ex7_test"] == scores["ex11_test"] == 0  # its other cells carry mutants: the class's own test


def test_written_answers_wait_for_manual_grading(graded):
    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
        grade = gb.find_grade("ex6_written", ASSIGNMENT, ASSIGNMENT, "honest")
        assert grade.needs_manual_grade and grade.max_score == 2


def test_grades_csv_lists_every_graded_student(graded):
    with open(graded["course"] / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == {s for s in graded["students"] if graded["expected"].get(s, 0) is not None}
    rows = {s: r for s, r in rows.items() if s in graded["expected"]}
    for student, row in rows.items():
        assert float(row["score"]) == sum(graded["expected"][student].values())
        assert float(row["max_score"]) == 42


def test_grading_without_a_sandbox_stops_unless_asked(tmp_path, monkeypatch, capsys):
    course = copy_course(tmp_path, COURSE_FILES)
    corpus.honest(course / "submitted" / "someone" / ASSIGNMENT)
    monkeypatch.chdir(course)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)  # a machine without bubblewrap
    with pytest.raises(SystemExit) as stop:
        batch.main([])
    assert "apt-get install bubblewrap" in str(stop.value) and "SANDBOX=off" in str(stop.value)
    assert not (course / "autograded" / "someone").exists()


def test_a_sandbox_that_cannot_start_names_the_path_and_does_not_advise_installing_bubblewrap(tmp_path, monkeypatch):
    """bubblewrap is installed: what failed is the interpreter's path, and the message says which."""
    require_bubblewrap()
    course = copy_course(tmp_path, COURSE_FILES)
    corpus.honest(course / "submitted" / "someone" / ASSIGNMENT)
    monkeypatch.chdir(course)
    gone = tmp_path / "elsewhere" / ".venv" / "bin" / "python"  # a venv deleted under the course's feet
    monkeypatch.setattr(sys, "executable", str(gone))
    with pytest.raises(SystemExit) as stop:
        batch.main([])
    assert str(gone) in str(stop.value) and "SANDBOX=off" in str(stop.value)
    assert "install bubblewrap" not in str(stop.value).lower()
    assert not (course / "autograded" / "someone").exists()


def test_a_class_with_nothing_gradable_still_gets_its_feedback_step_and_csv(tmp_path, monkeypatch):
    """No autograded notebook at all: generate_feedback is skipped (it would fail), grades.csv is still written."""
    course = copy_course(tmp_path, COURSE_FILES)
    monkeypatch.setenv("PATH", batch.environment()["PATH"])
    coursedir = batch.course_directory(course)
    batch.ensure_assignment(coursedir.db_url, coursedir.course_id, course)
    batch.feedback_and_export(course, None)
    assert (course / "grades.csv").is_file() and not (course / "feedback").exists()
    outcome = batch.Outcome("someone", [], error="vi_stars.ipynb is not valid JSON")
    report = batch.report([outcome], sandboxed=True, jobs=2, seconds=3)
    assert "someone                  NOT GRADED: vi_stars.ipynb is not valid JSON" in report and "graded 0 of 1" in report


def test_unsandboxed_report_says_so():
    outcome = batch.Outcome("someone", [], score=25, max_score=25)
    first = batch.report([outcome], sandboxed=False, jobs=1, seconds=30).splitlines()[0]
    assert "NOT SANDBOXED" in first


def test_sandbox_runs_this_interpreter_wherever_it_lives(tmp_path):
    """Including a venv under /tmp, which the sandbox's own /tmp must not hide (the CI clone lives there)."""
    require_bubblewrap()
    sandbox.check(tmp_path)


def test_resolve_through_names_every_link_on_the_way(tmp_path):
    (tmp_path / "real" / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venvs").symlink_to("real")                      # relative, to a folder
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / ".venv").symlink_to(tmp_path / "venvs" / "venv")  # absolute, through the first
    links, real = sandbox.resolve_through(tmp_path / "course" / ".venv" / "bin" / ".." / "bin")
    assert links == [(tmp_path / "course" / ".venv", str(tmp_path / "venvs" / "venv")), (tmp_path / "venvs", "real")]
    assert real == tmp_path / "real" / "venv" / "bin"


# Run by the interpreter of a venv reached through a link: the sandbox's own check, then a sandboxed kernel
# (the kernelspec make grade writes) that runs one cell.
KERNEL_PROBE = """
import os, sys
from pathlib import Path
from jupyter_client import KernelManager
from grading import sandbox

scratch = Path(sys.argv[1])
sandbox.check(scratch / "check")
share, work, ipc = scratch / "share", scratch / "work", scratch / "ipc"
for folder in (share, work, ipc):
    folder.mkdir(parents=True)
os.environ["JUPYTER_PATH"] = str(share)
km = KernelManager(kernel_name=sandbox.write_kernelspec(share, work, ipc))
km.transport, km.ip, km.connection_file = "ipc", str(ipc / "kernel"), str(ipc / "connection.json")
km.start_kernel()
try:
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    printed = []
    kc.execute_interactive("import sys, os; print(sys.executable, sys.prefix, os.path.realpath(sys.prefix))",
                           timeout=60, output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
    print("KERNEL SAYS", "".join(printed), end="")
finally:
    km.shutdown_kernel(now=True)
"""


def test_a_sandboxed_kernel_starts_from_a_venv_that_is_a_symbolic_link(tmp_path):
    """`.venv` in the course, linked to a venv elsewhere: the kernel is started by the link's path, which must exist
    in the sandbox beside the real files."""
    require_bubblewrap()
    course = tmp_path / "a-course"
    course.mkdir()
    real = VENV.resolve()
    (course / ".venv").symlink_to(real, target_is_directory=True)
    run = subprocess.run([str(course / ".venv" / "bin" / "python"), "-c", KERNEL_PROBE, str(tmp_path / "scratch")],
                         cwd=course, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    said = run.stdout.split("KERNEL SAYS ", 1)[1].split()
    assert said == [str(course / ".venv" / "bin" / "python"), str(course / ".venv"), str(real)]


def test_sandbox_is_built_from_this_machine(tmp_path):
    require_bubblewrap()
    argv = sandbox.bwrap_argv(tmp_path / "work", tmp_path / "ipc")
    assert str(Path(sys.prefix).resolve()) in argv and str(Path(sys.base_prefix).resolve()) in argv
    assert "--unshare-all" in argv and "--cap-drop" in argv
    assert str(ROOT) not in argv and str(ROOT / "source") not in argv  # the course root is never bound


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date_with_source(tmp_path, assignment):
    course = copy_course(tmp_path, COURSE_FILES)
    env = venv_env()
    fresh = tmp_path / "fresh_release"
    subprocess.run(nbgrader("generate_assignment", assignment, f"--CourseDirectory.release_directory={fresh}"),
                   cwd=course, env=env, check=True, capture_output=True)
    assert (fresh / notebook(assignment)).read_text() == (ROOT / "release" / notebook(assignment)).read_text(), \
        f"release/{assignment} is stale: run `make release ASSIGNMENT={assignment}` and commit it"


@pytest.mark.parametrize("assignment, answers", [("vi_stars", 11), ("vi_beyond", 7), ("vi_two_stars", 5)])
def test_release_hides_solutions_and_hidden_tests(assignment, answers):
    text = (ROOT / "release" / notebook(assignment)).read_text()
    source = (ROOT / "source" / notebook(assignment)).read_text()
    assert "BEGIN HIDDEN TESTS" in source and "Model answer" in source
    for marker in ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Model answer", "Rubric", "_ref.simulate", "all 20 seeds"]:
        assert marker not in text
    assert text.count("raise NotImplementedError()") >= answers
    assert not (ROOT / "gradebook.db").exists() or "gradebook.db" in (ROOT / ".gitignore").read_text()


def make_grade(course, *options):
    return subprocess.run(["make", "-o", f"{VENV}/.installed", "grade", f"VENV={VENV}", *options], cwd=course,
                          env=venv_env(), capture_output=True, text=True)


def test_a_reference_solution_that_loses_points_stops_the_whole_class(tmp_path):
    """The canary: grades of this class would be wrong, so none are given, and the report says which test failed.
    (On nbgrader's own documentation course, whose notebooks run in a moment: the canary is the same for every
    assignment.)"""
    require_bubblewrap()
    course = copy_course(tmp_path, COURSE_FILES)
    peer_course.add_to(course)
    path = course / "source" / peer_course.ASSIGNMENT / "problem1.ipynb"
    nb = read(path)
    test = cells_by_id(nb)["correct_sum_of_squares"]  # 0.5 of the assignment's 3 autograded points
    assert "assert sum_of_squares(10) == 385" in test.source
    test.source = test.source.replace("sum_of_squares(10) == 385", "sum_of_squares(10) == 384")
    nbformat.write(nb, path)
    run = make_grade(course, f"ASSIGNMENT={peer_course.ASSIGNMENT}")
    assert run.returncode != 0
    report = (course / batch.REPORT.format(peer_course.ASSIGNMENT)).read_text()
    assert "NOTHING GRADED" in report and "correct_sum_of_squares" in report and "scored 2.5 of 3" in report
    assert report.strip() in run.stderr + run.stdout
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())
    assert not (course / "grades.csv").exists()


def test_the_canary_of_an_assignment_with_a_code_answer_graded_by_hand_aims_at_its_autograder_tests(tmp_path,
                                                                                                   monkeypatch):
    """nbgrader's own ps1/problem1.ipynb, graded as the canary grades: its Part D (2 points, a code answer graded by
    hand) is no part of the target, and whatever the canary reports is an autograder test, named, with its message."""
    require_bubblewrap()
    import nbgrader as package
    from grading import cells
    monkeypatch.setenv("PATH", batch.environment()["PATH"])
    course = copy_course(tmp_path, ("nbgrader_config.py",))
    (course / "source" / "ps1").mkdir(parents=True)
    problem1 = Path(package.__file__).parent / "docs/source/user_guide/source/ps1/problem1.ipynb"
    shutil.copy(problem1, course / "source" / "ps1" / "ps1.ipynb")
    subprocess.run(nbgrader("generate_assignment", "ps1"), cwd=course, env=venv_env(), check=True, capture_output=True)
    tests = cells.autograder_points(read(problem1))
    try:
        batch.canary(course, batch.course_directory(course).course_id, tmp_path / "scratch", True, 60, 300,
                     assignment="ps1")
    except batch.CanaryFailed as failed:
        why = str(failed)
        assert why.startswith("it scored ") and " of 3 autograded points; " in why
        named = [part.split(" (")[0] for part in why.split("; ")[1:]]
        assert named and set(named) <= set(tests), why  # Part D (sum_of_squares_application) is never one


def test_a_sandbox_that_cannot_import_course_stops_grading_and_says_from_where(tmp_path, monkeypatch):
    require_bubblewrap()
    broken = tmp_path / "elsewhere" / "course"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('not the engine')\n")
    monkeypatch.setattr(sandbox.course, "__file__", str(broken / "__init__.py"))
    with pytest.raises(sandbox.SandboxUnavailable, match="imports torch and course") as stop:
        sandbox.check(tmp_path / "check")
    assert str(broken) in str(stop.value) and "not the engine" in str(stop.value)
