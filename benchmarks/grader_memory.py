"""Peak memory of the honest grading process (`nbgrader autograde`, outside the sandbox): what GRADER_MEMORY must hold.

    python -m benchmarks.grader_memory [assignment]

Grades the reference solution of the assignment as a student's submission through grading.batch.grade_all (sandboxed,
with a generous cell timeout: a loaded machine changes the time, not the memory), which must earn full marks, while
reading each grading process's /proc/<pid>/status: its peak address space (VmPeak, what `prlimit --as` limits)
and its peak resident memory (VmHWM). Prints both, in MiB, against the default limit.
"""
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from grading import assignments, batch, grader_memory
from grading.submissions import COURSE_FILES, answered, copy_course

POLL = 0.1  # seconds between two readings


def grading_processes():
    """{student: /proc/<pid>} of the `nbgrader autograde` processes running on this machine, this batch's among them."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autograde" in argv and any(a.endswith(b"/nbgrader") for a in argv):
            student = [a for a in argv if a.startswith(b"--student=")]
            if student:
                found[student[0].decode().split("=", 1)[1]] = proc
    return found


def peaks(assignment):
    """{student: (VmPeak MiB, VmHWM MiB)} of this batch's grading processes."""
    seen, done = {}, threading.Event()

    def watch():
        while not done.is_set():
            for student, proc in grading_processes().items():
                try:
                    status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
                except (OSError, ValueError):
                    continue
                now = (int(status["VmPeak"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024)
                old = seen.get(student, (0, 0))
                seen[student] = (max(old[0], now[0]), max(old[1], now[1]))
            time.sleep(POLL)

    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp), COURSE_FILES)
        for path in assignments.notebooks(assignment, course):
            (course / "submitted" / "honest" / Path(path).parent).mkdir(parents=True, exist_ok=True)
            nbformat.write(answered(course, assignment, path), course / "submitted" / "honest" / path)
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            outcome, = batch.grade_all(course, 1, True, 600, 3600, progress=False, check_reference=False,
                                       assignment=assignment)
        finally:
            done.set()
            watcher.join()
    assert outcome.score == outcome.max_score, outcome
    return {s: p for s, p in seen.items() if s == "honest"}


def main():
    assignment = sys.argv[1] if len(sys.argv) > 1 else assignments.first()
    os.environ["PATH"] = batch.environment()["PATH"]
    for student, (address, resident) in sorted(peaks(assignment).items()):
        print(f"{assignment} {student:<20} address space {address} MiB, resident {resident} MiB "
              f"(limit {grader_memory.DEFAULT_MIB} MiB of address space)")


if __name__ == "__main__":
    main()
