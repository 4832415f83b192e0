"""Answers that reach past the engine's public API, and code hidden off to the right: flagged for the grader.

The engine the notebooks import (`course`) also holds the references the hidden tests check answers against
(`course.vi`, `course.likelihood.StarLikelihood`, `course.gradients`, ...). An answer that calls one of them earns
the points of a correct answer: the values are right. That is not something a test can refuse, but the grader
should know, so every code cell the student wrote is read (never run) and the report names, cell by cell:

* each use of `course` that is not in `course.__all__`: `course.vi.neg_elbo_grad`, `from course.coverage import
  coverage`, `import course.gradients`;
* each way of reaching a module by a name the reader cannot see (`importlib`, `__import__`, `sys.modules`,
  `getattr` of `course` with a computed name);
* each line wider than the formgrader's code box shows (WIDE characters), which can hide a call far to the right.

A cell that does not parse is not read (it cannot run either). The same notes are written below each flagged cell of
the autograded notebook (`FlagDelegation`, in autograde after the scores are saved), so the grader sees them beside
the code in the formgrader, whose template wraps long lines; the points stay the instructor's call.
"""
import ast

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked

import course

WIDE = 160  # characters: the formgrader's code box shows about 100 at its usual width
DYNAMIC = {"importlib", "__import__", "import_module", "modules"}  # sys.modules, importlib.import_module, ...
PUBLIC = frozenset(course.__all__) | {"testing", "widgets"}  # the visible tests' checks and the live sliders


def dotted(node):
    """'a.b.c' for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def reaches(source):
    """The engine internals and dynamic imports a cell's code names, in order, each once."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course":
            if node.module == "course":
                found += [f"from course import {a.name}" for a in node.names if a.name not in PUBLIC]
            elif node.module.split(".")[1] not in PUBLIC:
                found += [f"from {node.module} import {a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("course.")
                      and a.name.split(".")[1] not in PUBLIC or a.name.split(".")[0] == "importlib"]
        elif isinstance(node, ast.Attribute):
            chain = dotted(node)
            if chain and chain.startswith("course.") and chain.split(".")[1] not in PUBLIC:
                found.append(chain)
            elif node.attr in DYNAMIC and chain in ("sys.modules", "importlib.import_module"):
                found.append(chain)
        elif isinstance(node, ast.Name) and node.id == "__import__":
            found.append("__import__")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and \
                node.args and dotted(node.args[0]) == "course" and not (
                    len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in PUBLIC):
            found.append("getattr(course, ...)")
    # an outer chain also walks its own prefixes (course.vi.neg_elbo_grad, then course.vi): keep the longest
    found = [f for f in found if not any(g != f and g.startswith(f + ".") for g in found)]
    return list(dict.fromkeys(found))


def cell_notes(source):
    """What the grader should know of one cell's code: its uses of the engine's own references, its hidden lines."""
    found = []
    named = reaches(source)
    if named:
        found.append(f"uses the engine's own references (check it by hand): {', '.join(named[:5])}"
                     + (f" and {len(named) - 5} more" if len(named) > 5 else ""))
    wide = [n for n, line in enumerate(source.splitlines(), start=1) if len(line) > WIDE]
    if wide:
        found.append(f"has {len(wide)} line(s) wider than {WIDE} characters (line "
                     f"{', '.join(map(str, wide[:5]))}): the formgrader's code box may hide their ends")
    return found


def notes(nb):
    """The report's lines for a notebook: one per code cell that reaches past the engine or hides a line."""
    lines = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        lines += [f"{where} {note}" for note in cell_notes(cell.source)]
    return lines


class FlagDelegation(NbGraderPreprocessor):
    """In the autograded notebook, below each code cell its student wrote that `cell_notes` flags, an output saying so:
    the grader sees it beside the answer in the formgrader. It changes no score (it runs after they are saved, and
    before the sanitizer, which keeps plain text); the points stay the instructor's call. A test cell, or a locked cell
    of the release, is the instructor's code."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and not is_grade(cell) and not is_locked(cell):
            found = cell_notes(cell.source)
            if found:
                cell.outputs.append(new_output("display_data", data={"text/plain": "\n".join(
                    f"[Grading note for the instructor: this cell {note}.]" for note in found)}))
        return cell, resources
