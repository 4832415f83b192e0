"""Every test run, the notebooks' nbval included, with the CPU kernels the stored outputs were made with (cpu.env)
and a matplotlib font cache of its own."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest


def cpu_env(path=Path(__file__).resolve().parent / "cpu.env"):
    """{name: value} of cpu.env."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


# before any kernel starts (nbval's, which runs with this environment; the graded classes' make grade). A value
# already set wins, as it does in the Makefile.
for _name, _value in cpu_env().items():
    os.environ.setdefault(_name, _value)

# A font cache of this run's own, built here: a cache in the user's home that another matplotlib left behind (its
# fonts since deleted with its venv) makes every plotting cell warn on stderr, which strict nbval rightly fails; and
# a cache built by the first kernel that plots would say so on stderr too. Graded kernels have their own (the sandbox).
if "MPLCONFIGDIR" not in os.environ:
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="mplconfig-")
    atexit.register(shutil.rmtree, os.environ["MPLCONFIGDIR"], True)
    import matplotlib.font_manager  # noqa: E402,F401


# `make test` runs the suite on two workers (pytest-xdist, --dist loadscope): each scope below runs whole on one
# worker, so that a fixture of module or session scope is built once. The modules that read the graded vi_stars class
# (tests/conftest.py's session fixture graded_class) share one scope; every other module, and each notebook nbval
# runs, is a scope of its own. The scopes that take longest start first, so that the short ones fill the other worker
# meanwhile (the setup of each, in minutes, on 2 cores under the two workers, as `make test` measured them).
CLASS_MODULES = ("tests/test_course_cycle.py", "tests/test_formgrader_browser.py", "tests/test_grading.py",
                 "tests/test_instructor_path.py")
LONGEST_FIRST = (
    "graded_class",                     # ~25: the vi_stars class graded; then formgrader, exchange and browser
    "tests/test_grading_beyond.py",     # ~12
    "tests/test_hub.py",                # ~6
    "tests/test_grading_two_stars.py",  # ~5
)


def module_of(nodeid):
    return nodeid.split("::", 1)[0]


def scope_of(nodeid):
    return "graded_class" if module_of(nodeid) in CLASS_MODULES else module_of(nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    strays = sorted({module_of(item.nodeid) for item in items if "graded_class" in getattr(item, "fixturenames", ())
                     and scope_of(item.nodeid) != "graded_class"})
    if strays:
        raise pytest.UsageError(f"{strays} read graded_class: add them to conftest.py's CLASS_MODULES, or each "
                                "worker that runs one grades the class again")
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(scope_of(item.nodeid), len(rank)))  # stable: each scope keeps its order


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadscope with the scopes of scope_of, in the order of collection."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByScope(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return scope_of(nodeid)

    config.option.loadscopereorder = False  # the order above, not by the number of tests
    return ByScope(config, log)
