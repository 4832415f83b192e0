"""Every test run, the notebooks' nbval included, with the CPU kernels the stored outputs were made with (cpu.env)
and a matplotlib font cache of its own."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path


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
