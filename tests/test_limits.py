"""What one submission may take of the grading machine: processes, memory and CPU (cgroups), and output bytes.

The cgroup tests run a program in the grading sandbox with a submission's limits, as `make grade` starts a
kernel; they need bubblewrap and writable cgroup controllers (skipped without them, except under CI=true).
"""
import json
import os
import subprocess
import sys

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import require_bubblewrap
from grading import execute, limits, sandbox
from grading.execute import GuardedExecute


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
