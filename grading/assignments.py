"""The course's assignments: the folders of source/, each with the notebooks it holds.

    python -m grading.assignments                 the assignments, one a line, the course's first first
    python -m grading.assignments NAME            NAME's notebooks (paths from the course folder), one a line;
                                                  an unknown NAME is an error naming the ones there are

An assignment is a folder of source/ holding at least one notebook, as nbgrader sees it: its notebooks are the
`*.ipynb` files directly in that folder (nbgrader grades no others), and every other file in it (an image, a data
file) is released beside them and put back over a student's copy when they are graded. Their order is the one
nbgrader_config.py gives as `c.Course.assignments` (the order students meet them); assignments it does not list
follow, sorted by name. The course's first assignment is the one every command takes when none is named.
"""
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "nbgrader_config.py"


def listed_order(root=ROOT):
    """The assignment names nbgrader_config.py lists as `c.Course.assignments`, in its order ([] when it lists none)."""
    if not (Path(root) / CONFIG).is_file():
        return []
    config = PyFileConfigLoader(CONFIG, path=str(root)).load_config()
    listed = config.Course.get("assignments", []) if "Course" in config else []
    if isinstance(listed, str) or not all(isinstance(name, str) for name in listed):
        raise ValueError(f"{CONFIG}: c.Course.assignments must be a list of assignment names, got {listed!r}")
    return list(listed)


def names(root=ROOT):
    """The course's assignments: the folders of source/ that hold a notebook, in the course's order."""
    source = Path(root) / "source"
    present = sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")
                     and any(p.glob("*.ipynb"))) if source.is_dir() else []
    listed = [name for name in dict.fromkeys(listed_order(root)) if name in present]
    return listed + [name for name in present if name not in listed]


def first(root=ROOT):
    """The course's first assignment: the one every command takes when none is named."""
    found = names(root)
    if not found:
        raise ValueError(f"the course at {root} has no assignment: expected source/<assignment>/<notebook>.ipynb")
    return found[0]


def check(assignment, root=ROOT, argument="assignment"):
    """`assignment` if the course has it; else ValueError naming the argument and the assignments there are."""
    found = names(root)
    if assignment not in found:
        raise ValueError(f"{argument} must be one of the course's assignments ({', '.join(found) or 'none in source/'}), "
                         f"got {assignment!r}")
    return assignment


def notebooks(assignment, root=ROOT):
    """The assignment's notebooks, as paths relative to source/, release/, submitted/<student>/ and the like
    (`ps1/problem1.ipynb`), sorted by name: the ones nbgrader releases and grades."""
    check(assignment, root)
    return [f"{assignment}/{p.name}" for p in sorted((Path(root) / "source" / assignment).glob("*.ipynb"))]


def notebook_names(assignment, root=ROOT):
    """The names nbgrader's gradebook knows the assignment's notebooks by: their file names without `.ipynb`."""
    return [Path(path).stem for path in notebooks(assignment, root)]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    try:
        lines = notebooks(check(argv[0], root, "ASSIGNMENT"), root) if argv else names(root)
    except ValueError as err:
        sys.exit(str(err))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
