"""Each exercise's declared references: the names of the engine that compute its answer, as the instructor declares them.

In nbgrader_config.py, per assignment and answer cell (its grade_id), the names of `course` whose result is that
exercise's answer:

    c.FlagDelegation.references = {
        "vi_two_stars": {"a1_answer": ["TwoStarLogJoint"], "c1_answer": ["diagnostics.iw_bound"]},
    }

A name is an attribute path from `course`: a public name (`TwoStarLogJoint`), a module's (`diagnostics.iw_bound`),
or a class's method (`GaussianQ.entropy`). They are read from the course's configuration only, never from the
student's notebook (whose metadata the student controls). grading.delegation then flags every cell the student wrote
that reaches one of them, and names the exercise whose reference it is; the points stay the instructor's call.

`declared` checks the whole table first: an assignment the course does not have (neither a folder of source/ nor
named in c.Course.assignments), a grade_id that is no answer cell of that assignment's source notebooks, or a name that is not in the engine is an error naming the entry and what is
allowed, raised when grading starts (grading.batch, and FlagDelegation in `nbgrader autograde`).
"""
import inspect
from dataclasses import dataclass
from pathlib import Path

import nbformat
from traitlets.config.loader import PyFileConfigLoader

import course
from grading import assignments

CONFIG = "nbgrader_config.py"
SETTING = "c.FlagDelegation.references"


@dataclass(frozen=True)
class Reference:
    """One declared name: `name` as written, `target` the engine's object it names, `owner` the class of which it is
    a method (else None), `module` the engine module that defines it."""

    grade_id: str
    name: str
    target: object
    owner: object
    module: str

    @property
    def leaf(self):
        """The last part of the name: the attribute a cell would look up (`entropy` of `GaussianQ.entropy`)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def source_file(self):
        """The file name of the module that defines it (`two_stars.py`), which a cell could open and read."""
        return self.module.rsplit(".", 1)[-1] + ".py"


def configured(root=assignments.ROOT):
    """The table nbgrader_config.py declares as c.FlagDelegation.references ({} when it declares none)."""
    if not (Path(root) / CONFIG).is_file():
        return {}
    config = PyFileConfigLoader(CONFIG, path=str(root)).load_config()
    return dict(config.FlagDelegation.get("references", {})) if "FlagDelegation" in config else {}


def resolve(name):
    """(object, owning class or None) that the attribute path `name` names in `course`; ValueError if it names none."""
    if not isinstance(name, str) or not name or not all(part.isidentifier() for part in name.split(".")):
        raise ValueError(f"a name must be an attribute path of the engine such as 'TwoStarLogJoint', "
                         f"'diagnostics.iw_bound' or 'GaussianQ.entropy', got {name!r}")
    obj, owner = course, None
    for part in name.split("."):
        if part.startswith("_") or not hasattr(obj, part):
            raise ValueError(f"{name!r} is not in the engine: `course` has no {name!r} (its public names: "
                             f"{', '.join(sorted(course.__all__))}; a module's names as 'module.name')")
        owner = obj if inspect.isclass(obj) else None
        obj = getattr(obj, part)
    return obj, owner


def answer_ids(assignment, root=assignments.ROOT):
    """The grade_ids of the code answer cells (nbgrader solution cells) of the assignment's source notebooks: a written
    answer has no code to reach the engine."""
    found = []
    for path in assignments.notebooks(assignment, root):
        nb = nbformat.read(Path(root) / "source" / path, as_version=4)
        found += [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade_id")]
    return found


def check(table, root=assignments.ROOT):
    """{assignment: [Reference]} from a declared table, or ValueError naming the bad entry and what is allowed."""
    if not isinstance(table, dict):
        raise ValueError(f"{SETTING} must be a dict {{assignment: {{grade_id: [name, ...]}}}}, got {table!r}")
    known = assignments.names(root)
    # an assignment c.Course.assignments lists but source/ does not hold (a course copied in part, an assignment
    # retired): its entries cannot be checked against notebooks that are not there, and flag nothing
    listed = set(assignments.listed_order(root)) - set(known)
    checked = {}
    for assignment, exercises in table.items():
        if assignment not in known and assignment not in listed:
            raise ValueError(f"{SETTING}[{assignment!r}]: not an assignment of the course "
                             f"(it has {', '.join(known) or 'none'})")
        if not isinstance(exercises, dict):
            raise ValueError(f"{SETTING}[{assignment!r}] must be a dict {{grade_id: [name, ...]}}, got {exercises!r}")
        if assignment not in known:
            continue
        ids = answer_ids(assignment, root)
        checked[assignment] = []
        for grade_id, names in exercises.items():
            where = f"{SETTING}[{assignment!r}][{grade_id!r}]"
            if grade_id not in ids:
                raise ValueError(f"{where}: not a code answer cell of {assignment}'s source "
                                 f"notebooks (their code answer cells: {', '.join(ids)})")
            if isinstance(names, str) or not isinstance(names, (list, tuple)):
                raise ValueError(f"{where} must be a list of the engine's names, got {names!r}")
            for name in names:
                try:
                    target, owner = resolve(name)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
                module = target.__name__ if inspect.ismodule(target) else (
                    getattr(target, "__module__", None) or getattr(owner, "__module__", None) or "course")
                checked[assignment].append(Reference(grade_id, name, target, owner, module))
    return checked


def declared(assignment, root=assignments.ROOT, table=None):
    """The references declared for `assignment` (the course's configuration unless `table` is given), after checking
    the whole table."""
    return check(configured(root) if table is None else table, root).get(assignment, [])
