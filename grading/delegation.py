"""Answers that reach past the engine's public API, and code hidden off to the right: flagged for the grader.

The engine the notebooks import (`course`) also holds the references the hidden tests check answers against
(`course.vi`, `course.likelihood.StarLikelihood`, `course.gradients`, ...). An answer that calls one of them earns
the points of a correct answer: the values are right. That is not something a test can refuse, but the grader
should know, so every code cell the student wrote is read (never run) and the report names, cell by cell:

* each use of `course` that is not in `course.__all__`: `course.vi.neg_elbo_grad`, `from course.coverage import
  coverage`, `import course.gradients`;
* each way of reaching a module by a name the reader cannot see (`importlib`, `__import__`, `sys.modules`,
  `getattr` of `course` with a computed name);
* each way of reaching a name the instructor declared as an exercise's reference (grading.references), public or
  not, and which exercise's it is: by its name on the engine or an alias, an import, a string naming it where the
  cell looks names up, the engine's namespace or source, or the class of an instance the notebook made. The
  release's own statements, kept as released, are not the student's (`Release`);
* each line wider than the formgrader's code box shows (WIDE characters), which can hide a call far to the right.

A cell that does not parse is not read (it cannot run either). The same notes are written below each flagged cell of
the autograded notebook (`FlagDelegation`, in autograde after the scores are saved), so the grader sees them beside
the code in the formgrader, whose template wraps long lines; the points stay the instructor's call.
"""
import ast
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked
from traitlets import Dict

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


# --- the exercises' declared references (grading.references), however a cell reaches them ---

SOURCE_ATTRIBUTES = {"__file__", "__path__", "__spec__", "__loader__", "__code__", "__wrapped__"}
SOURCE_READERS = {"getsource", "getsourcefile", "getsourcelines", "getfile", "findsource", "getmodule"}
NAMESPACE_READERS = {"vars", "dir", "getmembers"}
LOOKUPS = {"getattr", "hasattr", "attrgetter", "methodcaller", "import_module", "__import__", "eval", "exec"}
BY_NAME = {"import_module", "__import__", "find_spec", "files", "get_data", "read_text", "open_text", "getline",
           "getlines"}  # importlib, importlib.resources, pkgutil, linecache: a module or its file, by name


def engine_object(path):
    """The object `course.a.b` names in the engine, or None (looked up, never run)."""
    if not path:
        return None
    obj = course
    for part in path.split(".")[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def folded(node):
    """The string a constant expression spells ('fit_' + 'gaussian_vi', f'{"iw"}_bound'), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = folded(node.left), folded(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [folded(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values]
        return "".join(parts) if None not in parts else None
    return None


@dataclass
class Bindings:
    """What the names of a notebook stand for, as far as a reader can tell without running it: `aliases` name
    part of the engine (`course`, `c` of `import course as c`, `f = course.fit_gaussian_vi`); `holders` hold
    instances of the engine's classes (`log_joints = [course.TwoStarLogJoint(d) ...]`); `makers` are functions
    that return such instances. Flow- and scope-insensitive: a name bound anywhere counts everywhere."""

    aliases: dict = field(default_factory=lambda: {"course": "course"})
    holders: dict = field(default_factory=dict)
    makers: dict = field(default_factory=dict)

    def copy(self):
        return Bindings(dict(self.aliases), {k: set(v) for k, v in self.holders.items()},
                        {k: set(v) for k, v in self.makers.items()})

    def path(self, node):
        """'course.a.b' for an expression naming part of the engine, else None."""
        chain = dotted(node)
        if not chain:
            return None
        head, _, rest = chain.partition(".")
        base = self.aliases.get(head)
        return None if base is None else base + ("." + rest if rest else "")

    def classes(self, node):
        """The engine's classes whose instances an expression holds (a call of one, a container of them, a holder)."""
        if isinstance(node, ast.Call):
            made = engine_object(self.path(node.func))
            if inspect.isclass(made):
                return {made}
            if isinstance(node.func, ast.Attribute):
                owner = engine_object(self.path(node.func.value))
                if inspect.isclass(owner):  # a class method that builds one: GaussianQ.from_normal(...)
                    return {owner}
                if node.func.attr in ("items", "values"):  # a dict's values
                    return self.classes(node.func.value)
            return set(self.makers.get(node.func.id, ())) if isinstance(node.func, ast.Name) else set()
        if isinstance(node, ast.Name):
            return set(self.holders.get(node.id, ()))
        if isinstance(node, (ast.Subscript, ast.Starred, ast.NamedExpr)):
            return self.classes(node.value)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*map(self.classes, node.elts))
        if isinstance(node, ast.Dict):
            return set().union(*map(self.classes, node.values))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self.classes(node.elt)
        if isinstance(node, ast.DictComp):
            return self.classes(node.value)
        if isinstance(node, ast.IfExp):
            return self.classes(node.body) | self.classes(node.orelse)
        return set()

    def bind(self, name, value):
        path = self.path(value) if isinstance(value, (ast.Name, ast.Attribute)) else None
        if path:
            self.aliases[name] = path
        elif isinstance(value, ast.Lambda):
            self.makers.setdefault(name, set()).update(self.classes(value.body))
        else:
            made = self.classes(value)
            if made:
                self.holders.setdefault(name, set()).update(made)

    def read(self, statements):
        """Add what these statements bind (three passes: a binding may use one made later in the text)."""
        for _ in range(3):
            for stmt in statements:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Import):
                        for a in node.names:
                            if a.name.split(".")[0] == "course":
                                self.aliases[a.asname or "course"] = a.name if a.asname else "course"
                    elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course":
                        for a in node.names:
                            self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                            for name in ast.walk(target):
                                if isinstance(name, ast.Name):
                                    self.bind(name.id, node.value)
                    elif isinstance(node, (ast.For, ast.comprehension)):
                        made, target = self.classes(node.iter), node.target
                        if isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Attribute) and \
                                node.iter.func.attr == "items" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                            target = target.elts[1]  # for key, value in d.items(): the keys are not instances
                        for name in ast.walk(target):
                            if isinstance(name, ast.Name) and made:
                                self.holders.setdefault(name.id, set()).update(made)
                    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        made = set().union(*(self.classes(r.value) for r in ast.walk(node)
                                             if isinstance(r, ast.Return) and r.value is not None))
                        if made:
                            self.makers.setdefault(node.name, set()).update(made)
        return self


def bound(body):
    """The names the statements bind: assigned, imported, defined, or a function's parameters."""
    found = set()
    for node in (n for s in body for n in ast.walk(s)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
    return found - {"course"}


def statements(source):
    """The top-level statements of a cell's code ([] when it does not parse)."""
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError):
        return []


@dataclass
class Release:
    """A notebook's own code, as released: its top-level statements (which a student's cell may keep as they are,
    and which are then not the student's) and what they bind."""

    written: frozenset = frozenset()
    bindings: Bindings = field(default_factory=Bindings)
    lines: frozenset = frozenset()

    @classmethod
    def of(cls, nb):
        """From the source notebook: its code cells other than tests, each answer's solution cut out."""
        found, lines = [], set()
        for cell in nb.cells:
            if cell.cell_type == "code" and not is_grade(cell):
                code = SOLUTION.sub(lambda m: m.group(1) + "pass", cell.source)
                found += statements(code)
                lines.update(code.splitlines())
        return cls(frozenset(ast.dump(s) for s in found), Bindings().read(found), frozenset(lines))


SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*", re.S | re.M)


def reached(source, references, release=Release()):
    """[(Reference, how)] for each declared reference the student's part of a cell reaches, each once, with the
    first way it does: by its name on the engine, an import, a string naming it, the engine's namespace or source,
    or the type of an instance the notebook made."""
    body = statements(source)
    if not references or not body:
        return []
    mine = [s for s in body if ast.dump(s) not in release.written]
    names = release.bindings.copy()
    for name in bound(body):  # a name the cell binds is the cell's own: what the release bound it to does not hold
        for table in (names.aliases, names.holders, names.makers):
            table.pop(name, None)
    names.read(body)
    found = {}

    def hit(ref, how):
        found.setdefault(ref, how)

    def every(how):
        for ref in references:
            hit(ref, how)

    nodes = [n for s in mine for n in ast.walk(s)]
    # a bare name in a string ('coverage') is a lookup only where the cell looks names up: getattr, importlib, eval
    looks_up = any(isinstance(n, ast.Call) and (dotted(n.func) or "").rsplit(".", 1)[-1] in LOOKUPS for n in nodes)
    for node in nodes:
        text = folded(node)
        if text is not None and text.strip():
            for ref in references:
                if text in (ref.name, f"course.{ref.name}", f"{ref.module}.{ref.leaf}") and "." in text or \
                        text == ref.leaf and ref.owner is None and looks_up:
                    hit(ref, f"the string {text!r}")
                elif ref.source_file in text and ("course" in text or text == ref.source_file):
                    hit(ref, f"its source file, {text!r}")
            if "course/" in text or "course\\" in text:
                every(f"the engine's files, {text!r}")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course":
            for a in node.names:
                obj = engine_object(f"{node.module}.{a.name}")
                for ref in references:
                    if obj is ref.target:
                        hit(ref, f"from {node.module} import {a.name}" + (f" as {a.asname}" if a.asname else ""))
        elif isinstance(node, (ast.Name, ast.Attribute)) and not isinstance(node.ctx, ast.Store):
            path = names.path(node)
            obj = engine_object(path) if path else None
            for ref in references:
                if obj is not None and obj is ref.target:
                    hit(ref, ast.unparse(node) + ("" if ast.unparse(node) == path else f" ({path})"))
            if isinstance(node, ast.Attribute):
                held = names.classes(node.value)
                for ref in references:
                    if ref.owner is not None and ref.owner in held and node.attr in (ref.leaf, "__class__") or \
                            ref.owner is None and ref.target in held and node.attr == "__class__":
                        hit(ref, f"{ast.unparse(node)}, on an instance of {(ref.owner or ref.target).__name__}")
                if node.attr in SOURCE_ATTRIBUTES | {"__dict__"} and names.path(node.value):
                    every(f"the engine's {'namespace' if node.attr == '__dict__' else 'source'}: {ast.unparse(node)}")
        if isinstance(node, ast.Call) and node.args:
            callee = dotted(node.func) or ""
            last = callee.rsplit(".", 1)[-1]
            first = node.args[0]
            held = names.classes(first)
            if last == "type" and len(node.args) == 1:
                for ref in references:
                    if ref.target in held or ref.owner in held:
                        hit(ref, f"{ast.unparse(node)}, the class of an instance the notebook made")
            if last == "getattr" and len(node.args) > 1:
                for ref in references:
                    if ref.owner is not None and ref.owner in held and folded(node.args[1]) == ref.leaf:
                        hit(ref, f"{ast.unparse(node)}, on an instance of {ref.owner.__name__}")
            if last in NAMESPACE_READERS | SOURCE_READERS and (names.path(first) or held):
                every(f"the engine's {'namespace' if last in NAMESPACE_READERS else 'source'}: {ast.unparse(node)}")
            if last in BY_NAME and (folded(first) or "").split(".")[0] == "course":
                every(f"the engine by name: {ast.unparse(node)}")
    return list(found.items())


def cell_notes(source, references=(), release=Release()):
    """What the grader should know of one cell's code: its uses of the engine's own references, of the references
    declared for the assignment's exercises, and its hidden lines."""
    found = []
    named = reaches(source)
    if named:
        found.append(f"uses the engine's own references (check it by hand): {', '.join(named[:5])}"
                     + (f" and {len(named) - 5} more" if len(named) > 5 else ""))
    ways = {}
    try:
        found_refs = reached(source, references, release)
    except RecursionError:  # nested past what the reader follows: a note, not a failed grading run
        found_refs = [(ref, "code nested too deeply to be read") for ref in references]
    for ref, how in found_refs:
        ways.setdefault(how, []).append(f"{ref.grade_id} ({ref.name})")
    for how, refs in ways.items():
        found.append(f"reaches the declared reference of {', '.join(dict.fromkeys(refs))}, by {how} (check it by hand)")
    wide = [n for n, line in enumerate(source.splitlines(), start=1) if len(line) > WIDE and line not in release.lines]
    if wide:
        found.append(f"has {len(wide)} line(s) wider than {WIDE} characters (line "
                     f"{', '.join(map(str, wide[:5]))}): the formgrader's code box may hide their ends")
    return found


def notes(nb, references=(), release=Release()):
    """The report's lines for a notebook: one per code cell that reaches past the engine, reaches an exercise's
    declared reference, or hides a line. release: the notebook as released (`Release.of` its source), whose own
    statements a student's cell may keep without their being the student's."""
    lines = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        lines += [f"{where} {note}" for note in cell_notes(cell.source, references, release)]
    return lines


class FlagDelegation(NbGraderPreprocessor):
    """In the autograded notebook, below each code cell its student wrote that `cell_notes` flags, an output saying so:
    the grader sees it beside the answer in the formgrader. It changes no score (it runs after they are saved, and
    before the sanitizer, which keeps plain text); the points stay the instructor's call. A test cell, or a locked cell
    of the release, is the instructor's code.

    references: each exercise's declared references, {assignment: {grade_id: [name, ...]}} (grading.references); the
    whole table is checked before the first cell is read, and a bad entry stops grading with an error naming it."""

    references = Dict(help="{assignment: {answer grade_id: [engine names that compute its answer]}}").tag(config=True)

    def preprocess(self, nb, resources):
        from grading import references  # here: grading.references reads the course's assignments, at grading time
        coursedir = CourseDirectory(parent=self)
        about = resources.get("nbgrader", {})
        assignment, notebook = about.get("assignment"), about.get("notebook")
        self._declared = references.check(self.references, coursedir.root).get(assignment, [])
        source = Path(coursedir.root) / coursedir.source_directory / str(assignment) / f"{notebook}.ipynb"
        self._release = Release.of(nbformat.read(source, as_version=4)) if self._declared and source.is_file() \
            else Release()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and not is_grade(cell) and not is_locked(cell):
            found = cell_notes(cell.source, getattr(self, "_declared", ()), getattr(self, "_release", Release()))
            if found:
                cell.outputs.append(new_output("display_data", data={"text/plain": "\n".join(
                    f"[Grading note for the instructor: this cell {note}.]" for note in found)}))
        return cell, resources
