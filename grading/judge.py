"""Hidden tests whose verdict the student's kernel cannot change.

Two autograde preprocessors around the execution (nbgrader_config.py lists them):
- `RecordAnswers`, before it: in each test cell, the hidden block starts by wrapping the student's
  answers it uses (its free names: a hidden block imports everything else it needs) with
  grading.record, and ends by publishing what they returned;
- `JudgeHiddenTests`, after it: takes those records out of the outputs and re-runs every hidden block
  in a fresh interpreter (grading.replay) with the installed `course` and the recorded answers. A
  block that fails there fails the cell, whatever the kernel said; the cell's source is put back as it was.
The kernel still runs the hidden tests itself, so an honest failure shows where it happened.
"""
import ast
import builtins
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from grading.feedback import BEGIN, END, is_test_cell

RECORDER = (Path(__file__).with_name("record.py")).read_text()
MIME = "text/x-vi-stars-answers"
RECORDER_NAME = "__grading_answers__"


def split_hidden(source):
    """(code before the hidden block, the hidden block's body, code after it), or None if it has none."""
    lines = source.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() in (BEGIN, END)]
    if len(marks) != 2 or lines[marks[0]].strip() != BEGIN:
        return None
    begin, end = marks
    return "\n".join(lines[: begin + 1]), "\n".join(lines[begin + 1: end]), "\n".join(lines[end:])


def free_names(code):
    """Names a block reads but never binds, less the builtins: in a hidden block, the student's answers."""
    loaded, bound = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(dir(builtins)))


class RecordAnswers(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        resources["hidden_tests"] = {}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        parts = split_hidden(cell.source) if is_test_cell(cell) else None
        if parts is None:
            return cell, resources
        head, body, tail = parts
        names = free_names(body)
        resources["hidden_tests"][cell.metadata.nbgrader["grade_id"]] = {"source": cell.source, "hidden": body,
                                                                        "names": names}
        # one line before the block and one after it, so that the kernel's line numbers move by one at most
        start = f"exec({RECORDER!r}); {RECORDER_NAME} = _GradingRecorder(globals(), {names!r})"
        cell.source = "\n".join([head, start, body, f"{RECORDER_NAME}.publish()", tail])
        return cell, resources


def failure(verdict):
    ename, evalue = verdict.get("ename", "AssertionError"), verdict.get("evalue", "")
    return new_output("error", ename=ename, evalue=evalue, traceback=[
        f"{ename}: {evalue}", "(a hidden test, judged outside the notebook's kernel from the answers it returned)"])


class JudgeHiddenTests(NbGraderPreprocessor):
    timeout = Integer(600, help="seconds the replay of one notebook's hidden tests may take").tag(config=True)

    def preprocess(self, nb, resources):
        hidden = resources.get("hidden_tests", {})
        cells = {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
                 if is_test_cell(c) and c.metadata.nbgrader["grade_id"] in hidden}
        replay = []
        for gid, cell in cells.items():
            records = [out for out in cell.outputs if MIME in out.get("data", {})]
            cell.outputs = [out for out in cell.outputs if out not in records]
            cell.source = hidden[gid]["source"]
            for out in cell.outputs:  # the recorder's two lines are not the student's concern
                if out.get("output_type") == "error":
                    out.traceback = ["\n".join(line for line in entry.splitlines() if RECORDER_NAME not in line
                                               and "_GradingRecorder" not in line) for entry in out.traceback]
            if any(out.get("output_type") == "error" for out in cell.outputs):
                continue  # failed in the kernel already: 0 points, and its own message says why
            answers = json.loads(records[-1]["data"][MIME]) if len(records) == 1 else {}
            # only the block's free names are the student's to supply; anything else in the records is ignored
            answers = {name: answers.get(name, {"kind": "missing", "why": "not recorded"})
                       for name in hidden[gid]["names"]}
            replay.append({"grade_id": gid, "hidden": hidden[gid]["hidden"], "answers": answers})
        for gid, verdict in self.replay(replay).items():
            if not verdict["passed"]:
                cells[gid].outputs.append(failure(verdict))
        return nb, resources

    def replay(self, cells):
        if not cells:
            return {}
        with tempfile.TemporaryDirectory() as folder:  # a working folder with nothing in it
            run = subprocess.run([sys.executable, "-I", "-m", "grading.replay"], input=json.dumps({"cells": cells}),
                                 capture_output=True, text=True, cwd=folder, timeout=self.timeout)
        if run.returncode != 0:
            raise RuntimeError(f"the replay of the hidden tests failed: {run.stderr[-2000:]}")
        return json.loads(run.stdout)
