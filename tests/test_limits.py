"""What one submission may take of the grading machine: processes, memory and CPU (cgroups), and output bytes.

The cgroup tests run a program in the grading sandbox with a submission's limits, as `make grade` starts a
kernel; they need bubblewrap and writable cgroup controllers (skipped without them, except under CI=true).
"""
import json
import os
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT, require_bubblewrap
from grading import batch, execute, grader_memory, limits, sandbox
from grading.execute import GuardedExecute
from grading.kernel_bridge import MIME


@pytest.fixture
def limited(tmp_path):
    require_bubblewrap()
    if not limits.Limits.available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the cgroup controllers (pids, memory, cpu) are not writable")
        pytest.skip("needs writable cgroup v1 controllers under /sys/fs/cgroup (as root)")
    group = limits.Limits(f"test-{os.getpid()}").create()
    for name in ("work", "ipc"):
        (tmp_path / name).mkdir()

    def run(code):
        argv = group.wrap(sandbox.bwrap_argv(tmp_path / "work", tmp_path / "ipc") + [sys.executable, "-c", code])
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    yield group, run
    group.remove()


FORK_BOMB = """
import os, time
made = 0
try:
    while True:
        if os.fork() == 0:
            while True:  # every child spins: an unbounded bomb, held only by the limit
                pass
        made += 1
except OSError as err:
    print("refused after", made, type(err).__name__)
"""


def test_a_fork_bomb_stops_at_the_process_limit_and_nothing_of_it_outlives_the_submission(limited):
    group, run = limited
    result = run(FORK_BOMB)
    made = int(result.stdout.split("refused after")[1].split()[0])
    assert limits.PROCESSES - 10 <= made < limits.PROCESSES, result.stdout
    assert group.hit() == [f"the process limit ({limits.PROCESSES})"]
    group.remove()
    assert not any(g.exists() for g in group.groups.values())


@pytest.fixture
def user_limited(tmp_path):
    """The fallback where cgroups are not writable: a user of its own per submission, with RLIMIT_NPROC."""
    require_bubblewrap()
    if not limits.UserLimits.available():
        pytest.skip("the fallback needs root (to start each kernel as a user of its own), setpriv and prlimit")
    for name in ("work", "ipc"):
        (tmp_path / name).mkdir()
    user = limits.UserLimits(writable=[tmp_path / "ipc"]).create()

    def run(code):
        argv = user.wrap(sandbox.bwrap_argv(tmp_path / "work", tmp_path / "ipc", user=user.user) + [sys.executable, "-c", code])
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    yield user, run
    user.remove()


def test_under_the_fallback_a_fork_bomb_stops_at_the_process_limit_and_nothing_of_it_outlives_the_submission(user_limited):
    user, run = user_limited
    who = run("import os, torch, course; print(os.getuid(), os.getgid(), os.getgroups())")
    assert who.stdout.split(None, 2) == [str(user.uid), str(user.uid), "[]\n"], who.stderr[-2000:]
    # children that sleep rather than spin: with no CPU limit in the fallback, spinning ones only slow the test
    result = run(FORK_BOMB.replace("while True:  # every child spins", "while time.sleep(1) is None:  # sleeps"))
    made = int(result.stdout.split("refused after")[1].split()[0])
    assert limits.PROCESSES - 10 <= made < limits.PROCESSES, result.stdout
    uid = user.uid
    user.remove()
    assert limits._pids_of(uid) == []


UNBOUNDED_BOMB = """
import os
while True:  # every process forks for ever, and spins when refused
    try:
        os.fork()
    except OSError:
        pass
"""


def end_an_unbounded_bomb(limit, argv):
    """Start an unbounded fork bomb; as grading.batch does, end it once it reaches its limit; seconds that took."""
    bomb = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        while not limit.exhausted():
            assert time.monotonic() - start < 60 and bomb.poll() is None, "the bomb never reached its limit"
            time.sleep(0.2)
        limit.kill()
        bomb.wait(timeout=10)
        return time.monotonic() - start
    finally:
        bomb.kill()


def test_a_bomb_at_the_process_limit_is_ended_at_once(limited, tmp_path):
    group, _ = limited
    argv = group.wrap(sandbox.bwrap_argv(tmp_path / "work", tmp_path / "ipc") + [sys.executable, "-c", UNBOUNDED_BOMB])
    assert end_an_unbounded_bomb(group, argv) < 30
    assert not [pid for pid in (group.groups["pids"] / "cgroup.procs").read_text().split() if limits._alive(pid)]


def test_under_the_fallback_a_bomb_at_the_process_limit_is_ended_at_once(user_limited, tmp_path):
    user, _ = user_limited
    argv = user.wrap(sandbox.bwrap_argv(tmp_path / "work", tmp_path / "ipc", user=user.user)
                     + [sys.executable, "-c", UNBOUNDED_BOMB])
    assert end_an_unbounded_bomb(user, argv) < 30
    assert not [pid for pid in limits._pids_of(user.uid) if limits._alive(pid)]
    assert user.hit() == [f"the process limit ({limits.PROCESSES})"]


def test_the_choice_of_limits_can_be_forced_and_the_report_says_which(monkeypatch):
    from grading.batch import report
    monkeypatch.setenv("GRADING_LIMITS", "uids")
    assert limits.choose() == "uids"
    monkeypatch.setenv("GRADING_LIMITS", "sometimes")
    with pytest.raises(ValueError, match="GRADING_LIMITS"):
        limits.choose()
    first = {kind: report([], True, 2, 1.0, limited=kind).splitlines()[0] for kind in limits.KINDS}
    assert "a user of its own limited to 256 processes" in first["uids"] and "NO per-submission memory" in first["uids"]
    assert "256 processes, 4 GiB and one core (cgroups)" in first["cgroups"]
    assert "NO per-submission process or memory limits" in first["none"]


def test_memory_is_capped_for_the_submission_not_each_process(limited):
    """Three processes of 1.7 GB each: each is under the per-process cap, together they pass the submission's."""
    group, run = limited
    code = """
import os, time
import numpy as np
for _ in range(2):
    if os.fork() == 0:
        break
block = np.ones(int(1.7 * 2**30) // 8)  # touched: resident, not just reserved
time.sleep(3)
print("alive", os.getpid())
"""
    result = run(code)
    assert result.stdout.count("alive") < 3
    assert f"the memory limit ({limits.MEMORY / 2**30:g} GiB)" in group.hit()


def test_outputs_are_cut_in_bytes_whatever_their_type(tmp_path):
    """One long line, large display data and a flood of small prints: each cell keeps its cap, with a note."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell("print('x' * 5_000_000)"),
                new_code_cell("from IPython.display import HTML, display\ndisplay(HTML('<p>' + 'y' * 5_000_000))"),
                new_code_cell("for i in range(20_000):\n    print('z' * 500)"),
                new_code_cell("print('still here')")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    for cell in nb.cells[:3]:
        assert len(json.dumps(cell.outputs)) <= execute.CELL_LIMIT + 10_000
        assert "output cut here by the grader" in json.dumps(cell.outputs)
    assert nb.cells[3].outputs[0].text == "still here\n"


def test_widgets_carry_nothing_past_the_caps(tmp_path):
    """A widget's state and what an Output widget captures never reach the notebook outside the output caps."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell("import ipywidgets as w\nfrom IPython.display import display\nout = w.Output()\n"
                              "display(out)\nwith out:\n    for i in range(20_000):\n        print('z' * 500)"),
                new_code_cell("w.Textarea(value='y' * 20_000_000)"),
                new_code_cell("print('still here')")]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert "widgets" not in nb.metadata
    assert len(json.dumps(nb)) < execute.CELL_LIMIT
    assert nb.cells[2].outputs[0].text == "still here\n"


# --- what the kernel sends: only data of a test's request is exempt from the caps, and only then -------------

def notebook(*cells):
    """A notebook of code cells; a cell given as ("id", source) is a test cell worth one point."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for cell in cells:
        if isinstance(cell, tuple):
            nb.cells.append(new_code_cell(cell[1], metadata={"nbgrader": {
                "grade": True, "grade_id": cell[0], "points": 1, "locked": True, "solution": False}}))
        else:
            nb.cells.append(new_code_cell(cell))
    return nb


def run(nb, tmp_path, **options):
    GuardedExecute(**dict(dict(timeout=60), **options)).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb.cells


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def test_outputs_of_the_bridges_type_are_dropped_outside_a_tests_request(tmp_path):
    cells = run(notebook(
        f"from IPython.display import publish_display_data\n"
        f"publish_display_data({{{execute.MIME!r}: '', 'text/plain': 'x' * 5_000_000}})",
        f"publish_display_data({{{execute.MIME!r}: 'forged'}})",
        "print('still here')"), tmp_path)
    assert cells[0].outputs == [] and cells[1].outputs == []
    assert cells[2].outputs[0].text == "still here\n"


def test_the_bridges_answers_count_against_the_reply_limit_as_they_arrive(tmp_path):
    flood = (f"def flood():\n    from IPython.display import publish_display_data\n"
             f"    for _ in range(3):\n        publish_display_data({{{execute.MIME!r}: 'y' * 4_000_000}})\n    return 1")
    cells = run(notebook(flood, ("t", "assert flood() == 1")), tmp_path)
    [err] = errors(cells[1])
    assert "the kernel sent no answer" in err.evalue
    assert f"the limit is {execute.REPLY_LIMIT:,}" in json.dumps(cells[1].outputs)
    assert len(json.dumps(cells[1].outputs)) < 100_000


def test_every_byte_a_judged_call_sends_counts_and_only_the_bridges_entry_is_kept(tmp_path):
    """Messages that carry the bridge's type with a tiny entry beside a large one: the whole message counts against
    the request's limit, and only the bridge's entry of a message is ever kept in memory."""
    flood = (f"def flood():\n    from IPython.display import publish_display_data\n"
             f"    for _ in range(4):\n        publish_display_data({{{execute.MIME!r}: '{{}}', 'text/plain': 'p' * 3_000_000}})\n"
             f"    return 1")
    cells = run(notebook(flood, ("t", "assert flood() == 1"), ("u", "assert 1 == 1")), tmp_path)
    [err] = errors(cells[1])
    assert "the kernel sent no answer" in err.evalue
    assert f"the limit is {execute.REPLY_LIMIT:,}" in json.dumps(cells[1].outputs)
    assert "ppp" not in json.dumps(cells[1].outputs) and not errors(cells[2])


def test_display_updates_are_capped_and_never_reach_a_test_cell(tmp_path):
    cells = run(notebook(
        "from IPython.display import display, update_display\nh = display('small', display_id=True)",
        "h.update('y' * 5_000_000)",
        "def shown():\n    display('from the test', display_id='mine')\n    return 1",
        ("t", "assert shown() == 1"),
        "update_display({'text/plain': 'changed'}, display_id='mine', raw=True)"), tmp_path)
    assert len(json.dumps(cells[0].outputs)) < 10_000 and "small" in json.dumps(cells[0].outputs)
    assert "output cut here by the grader" in json.dumps(cells[0].outputs)
    assert not errors(cells[3]) and "changed" not in json.dumps(cells[3].outputs)


def test_a_test_cells_requests_share_one_time_budget(tmp_path):
    cells = run(notebook(
        "import time\ndef slow(x):\n    time.sleep(1.5)\n    return x",
        ("t", "for i in range(5):\n    assert slow(i) == i"),
        ("u", "assert slow(2) == 2")), tmp_path, timeout=4)
    [err] = errors(cells[1])
    assert err.ename == "TimeoutError" and "time limit of 4 s in all" in err.evalue
    assert not errors(cells[2])  # the next test cell has its own budget


def test_a_kernel_that_sends_an_oversized_message_stops_there_and_earlier_tests_keep_their_points(tmp_path):
    cells = run(notebook(
        "def one():\n    return 1",
        ("before", "assert one() == 1"),
        f"from IPython.display import publish_display_data\npublish_display_data({{'text/plain': 'z' * {execute.MESSAGE_LIMIT + 2**20}}})",
        ("after", "assert one() == 1")), tmp_path, iopub_timeout=2)
    assert not errors(cells[1])
    [err] = errors(cells[2])
    assert err.ename == execute.STOPPED and "larger than" in err.evalue and "MiB" in err.evalue
    [err] = errors(cells[3])
    assert err.ename == execute.STOPPED and err.evalue.startswith("not run")


def test_where_a_run_stopped_is_recorded_out_of_band_never_read_from_a_students_exception(tmp_path):
    from grading.batch import stopped_reason
    stops = tmp_path / "stops.jsonl"
    forged = notebook("class GradingStopped(Exception):\n    pass\nraise GradingStopped('the kernel died here, honest')",
                      ("t", "pass"))
    cells = run(forged, tmp_path, stops_file=str(stops))
    assert errors(cells[0])[0].ename == execute.STOPPED  # the notebook shows the forgery ...
    assert stopped_reason(stops) == ""                    # ... the report does not believe it
    cells = run(notebook(("t1", "pass"), "import os\nos._exit(0)", ("t2", "pass")), tmp_path, stops_file=str(stops))
    assert stopped_reason(stops) == "stopped in cell 2: the kernel died while running this cell (os._exit, a crash, or the memory or process limit)"


# --- the grading process of each submission: nbgrader's, outside the sandbox -----------------------------------

FLOOD = f'''def answer():
    kernel = get_ipython().kernel
    session = kernel.session
    content = session.pack({{"data": {{{MIME!r}: "{{}}", "text/plain": "x" * (40 * 2**20)}}, "metadata": {{}},
                             "transient": {{}}}})
    for _ in range(100):  # made once, sent under a new header each time: faster than any grader reads them
        msg = session.msg("display_data", {{}}, parent=kernel.get_parent())
        frames = [session.pack(msg["header"]), session.pack(msg["parent_header"]), session.pack({{}}), content]
        kernel.iopub_socket.send_multipart([b"display_data", b"<IDS|MSG>", session.sign(frames), *frames])
    return 1'''


def one_test_notebook(answer):
    """An answer cell and its test, worth one point."""
    nb = notebook(answer, ("test", "assert answer() == 1"))
    nb.cells[0].metadata["nbgrader"] = {"grade": False, "grade_id": "answer", "locked": False, "solution": True}
    for cell in nb.cells:
        cell.metadata["nbgrader"]["schema_version"] = 3
    return nb


def test_a_kernel_that_floods_its_grader_ends_that_submissions_grading_only(tmp_path, monkeypatch):
    """4 GB of display messages sent during a test's call, faster than they can be read: they queue in the grading
    process, outside the sandbox, until it reaches its own memory limit (the default); that submission is not graded,
    and says why; the other submission of the batch is graded."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "source" / "flood").mkdir(parents=True)
    nbformat.write(one_test_notebook("### BEGIN SOLUTION\ndef answer():\n    return 1\n### END SOLUTION"),
                   tmp_path / "source" / "flood" / "flood.ipynb")
    for student, answer in (("flood", FLOOD), ("honest", "def answer():\n    return 1")):
        (tmp_path / "submitted" / student / "flood").mkdir(parents=True)
        nbformat.write(one_test_notebook(answer), tmp_path / "submitted" / student / "flood" / "flood.ipynb")
    monkeypatch.setenv("PATH", batch.environment()["PATH"])
    # unsandboxed: the sandbox limits the kernel, not this process, and the grader's limit is the same either way
    outcomes = {o.student: o for o in batch.grade_all(tmp_path, 2, False, 60, 300, progress=False,
                                                      check_reference=False, assignment="flood")}
    assert outcomes["flood"].error == grader_memory.why(grader_memory.DEFAULT_MIB)
    assert "past its memory limit of 2048 MiB" in outcomes["flood"].error
    assert outcomes["honest"].error == "" and outcomes["honest"].score == 1


def test_the_graders_memory_is_a_number_of_mib_and_not_too_small_to_grade():
    assert grader_memory.parse("3072") == 3072
    for bad in ("2G", "", "512"):
        with pytest.raises(ValueError, match="must be a whole number of MiB, at least 1024, got"):
            grader_memory.parse(bad)
    assert grader_memory.command(["nbgrader"], 2048)[1:] == [f"--as={2048 * 2**20}:", "--", "nbgrader"]
