"""Wall time of the whole solution notebook, and of `nbgrader autograde` for one submission."""
import time

from nbclient import NotebookClient

from grading.selfcheck import autograde_reference
from grading.submissions import NOTEBOOK, ROOT, read


def notebook_seconds():
    """Execute source/ with every exercise answered, as `make notebook` does (kernel start-up included)."""
    nb = read(ROOT / "source" / NOTEBOOK)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    return time.perf_counter() - start


def autograde_seconds():
    """`nbgrader autograde` of the reference solution, submitted by one student, in a copy of the course."""
    [(seconds, _)] = autograde_reference(1)
    return seconds
