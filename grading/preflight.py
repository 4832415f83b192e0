"""Check each submission before grading and, where it is safe, repair a copy of it.

Reads submitted/<student>/<assignment>/ and writes only to a staging folder, which `nbgrader
autograde` then takes as its submitted directory: nothing a student submitted is modified. What is
repaired, and what cannot be graded, is returned with the reason, for the report.

Repairs, each one a thing nbgrader would otherwise grade wrongly or abort on:
- a notebook saved under another name: the one notebook in the folder that holds the assignment's cells;
- invalid JSON or a file that is not a notebook: not gradable (reported);
- a graded cell pasted twice (same grade_id): the last copy keeps its nbgrader metadata, as nbgrader's
  own DeduplicateIds would do, but before nbgrader's metadata checks can abort the batch;
- an answer cell whose nbgrader metadata was stripped: found again by the function it defines;
- extra files beside the notebook: left out (the lab reads no files; a `course.py` there would shadow
  the course package);
deleted or stripped test cells are put back by nbgrader itself (OverwriteCells.add_missing_cells).
"""
import ast
import copy
import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

TIMESTAMP = "timestamp.txt"


@dataclass
class Checked:
    student: str
    notes: list = field(default_factory=list)  # repairs made, for the report
    error: str = ""                            # why it cannot be graded; empty when it can

    @property
    def gradable(self):
        return not self.error


def nbgrader_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def defined_functions(source):
    """Names of the functions a cell's code defines at top level (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def read_notebook(path):
    """The notebook at `path`, or raise ValueError saying why it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path.name} is not valid JSON ({err})") from None
    try:
        with warnings.catch_warnings():  # duplicate cell ids (a pasted cell) are renumbered, as nbformat does
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(raw), as_version=4)
            nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds for a malformed notebook
        raise ValueError(f"{path.name} is not a valid notebook ({str(err).splitlines()[0]})") from None
    return nb


def find_notebook(folder, name, release_ids, checked):
    """The submitted notebook: `name` if present, else the one other notebook holding the assignment's cells."""
    expected = folder / name
    if expected.is_file():
        return expected
    candidates = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            ids = {nbgrader_id(c) for c in read_notebook(path).cells} & release_ids
        except ValueError:
            continue
        if ids:
            candidates.append((len(ids), path))
    if not candidates:
        raise ValueError(f"no notebook {name} (and no other notebook holding this assignment's cells)")
    candidates.sort()
    if len(candidates) > 1 and candidates[-1][0] == candidates[-2][0]:
        raise ValueError(f"no notebook {name}, and several others could be it: "
                         + ", ".join(p.name for _, p in candidates))
    path = candidates[-1][1]
    checked.notes.append(f"graded {path.name}, submitted in place of {name}")
    return path


def deduplicate(nb, checked):
    """Keep nbgrader metadata on the last copy of each grade_id; earlier copies become plain cells."""
    seen = set()
    for cell in reversed(nb.cells):
        gid = nbgrader_id(cell)
        if gid is None:
            continue
        if gid in seen:
            del cell.metadata["nbgrader"]
            checked.notes.append(f"cell {gid} appeared more than once; graded its last copy")
        seen.add(gid)


def restore_answer_metadata(nb, release, checked):
    """Give back the nbgrader metadata of an answer cell that lost it, found by the function it defines."""
    present = {nbgrader_id(c) for c in nb.cells}
    for ref in release.cells:
        gid = nbgrader_id(ref)
        if gid in present or ref.cell_type != "code" or not ref.metadata.nbgrader.get("solution"):
            continue
        wanted = defined_functions(ref.source)
        matches = [c for c in nb.cells if c.cell_type == "code" and nbgrader_id(c) is None
                   and wanted and wanted <= defined_functions(c.source)]
        if matches:
            matches[-1].metadata["nbgrader"] = copy.deepcopy(ref.metadata.nbgrader)
            checked.notes.append(f"answer cell {gid} had lost its nbgrader metadata; restored")


def stage(student, submitted, staging, assignment, release):
    """Check submitted/<student>/<assignment>/ and write the notebook to grade to staging/<student>/<assignment>/."""
    checked = Checked(student)
    folder = Path(submitted) / student / assignment
    name = f"{assignment}.ipynb"
    release_ids = {nbgrader_id(c) for c in release.cells} - {None}
    try:
        if not folder.is_dir():
            raise ValueError(f"no folder {assignment}/ in submitted/{student}/")
        path = find_notebook(folder, name, release_ids, checked)
        nb = read_notebook(path)
    except ValueError as err:
        checked.error = str(err)
        return checked
    deduplicate(nb, checked)
    restore_answer_metadata(nb, release, checked)
    extra = sorted(p.name for p in folder.iterdir() if p != path and p.name != TIMESTAMP)
    if extra:
        checked.notes.append("left out extra files: " + ", ".join(extra))
    dest = Path(staging) / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / name)
    if (folder / TIMESTAMP).is_file():
        shutil.copy2(folder / TIMESTAMP, dest / TIMESTAMP)
    return checked
