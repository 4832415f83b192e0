"""A class of honest, careless and hostile submissions, and the autograded points each one has earned.

Each entry writes submitted/<student>/vi_stars/ (a notebook and sometimes more) and says what a sound
grader gives it: {grade_id: points} of the autograded test cells, or None when it cannot be graded.
`hostile` also prints what its attacks on the grading machine got, in its first answer cell's output.
"""
import json
import os

import nbformat

from grading.submissions import ASSIGNMENT, answered, autograded_points, cells_by_id, release_notebook

FULL = autograded_points()
WRONG_EX2 = "def background_fraction(images, background):\n    return background / images[:, 0, 0]\n"
WRONG_EX7 = "def img_rate_shape(n, img_dim, num_samples):\n    return (num_samples, n, img_dim, img_dim)\n"
WRONG_EX11 = "def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):\n    return 0\n"

# What a hostile student tries from inside an answer cell; every attempt is recorded, none should succeed.
ATTACKS = '''
import json, os, socket
import torch
_found = {}
def _try(name, action):
    try:
        _found[name] = repr(action())[:200]
    except BaseException as err:  # MemoryError, OSError, RuntimeError: all mean refused
        _found[name] = "refused: " + type(err).__name__
_try("read_source", lambda: open("../../../source/vi_stars/vi_stars.ipynb").read())
_try("read_gradebook", lambda: open("../../../gradebook.db", "rb").read(100))
_try("list_course_root", lambda: os.listdir("../../.."))
_try("write_course_root", lambda: open("../../../PWNED", "w").write("graded by me"))
_try("write_other_student", lambda: open("../../honest/vi_stars/PWNED", "w").write("x"))
_try("network", lambda: socket.create_connection(("127.0.0.1", PROBE_PORT), timeout=3))
_try("allocate_4GB", lambda: torch.empty(2**30, dtype=torch.float32).fill_(1).sum())
_try("write_1GB_file", lambda: open("big.bin", "wb").write(bytes(2**30)))
_try("fill_tmp", lambda: [open(f"/tmp/fill{i}", "wb").write(bytes(2**27)) for i in range(8)])
_try("read_root_home", lambda: os.listdir("/root"))
_try("environment", lambda: sorted(k for k in os.environ if "TOKEN" in k or "KEY" in k or "JPY" in k))
_try("sandbox_environment", lambda: open("/proc/1/environ").read())
_try("fill_sockets_folder", lambda: [open(os.path.join(os.path.dirname(get_ipython().kernel.connection_file), f"fill{i}"), "wb").write(bytes(2**27)) for i in range(4)])
print("FINDINGS " + json.dumps(_found))
'''


def write(folder, nb, name=f"{ASSIGNMENT}.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def honest(folder):
    write(folder, answered())
    return FULL


def blank(folder):
    write(folder, release_notebook())
    return {gid: 0 for gid in FULL}


def wrong_ex2(folder, **answers):
    write(folder, answered(ex2_answer=WRONG_EX2, **answers))
    return dict(FULL, ex2_test=0)


def messy(folder, **answers):
    """Careless editing: a wrong Ex 7 whose test says `assert True`, an Ex 11 test deleted (answer wrong),
    Ex 1's cells stripped of their nbgrader metadata, Ex 4's answer cell pasted twice."""
    nb = answered(ex7_answer=WRONG_EX7, ex7_test="assert True", ex11_answer=WRONG_EX11, **answers)
    cells = cells_by_id(nb)
    nb.cells.remove(cells["ex11_test"])
    for gid in ("ex1_answer", "ex1_test"):
        del cells[gid].metadata["nbgrader"]
    pasted = nbformat.from_dict(json.loads(json.dumps(cells["ex4_answer"])))
    pasted.id = "pasted-ex4-answer"  # JupyterLab gives a pasted cell an id of its own
    nb.cells.insert(nb.cells.index(cells["ex4_answer"]), pasted)
    write(folder, nb)
    return dict(FULL, ex7_test=0, ex11_test=0)


def renamed(folder, **answers):
    write(folder, answered(**answers), name=f"{ASSIGNMENT} (1).ipynb")
    return FULL


def invalid_json(folder):
    folder.mkdir(parents=True)
    text = nbformat.writes(answered())
    (folder / f"{ASSIGNMENT}.ipynb").write_text(text[: len(text) // 2])
    return None


def hostile(folder, probe_port=9, **answers):
    """Honest answers, attacks on the grader from an answer cell, and a course.py meant to shadow the package.

    probe_port: a port on 127.0.0.1 that the grading machine listens on; the attack tries to connect to it.
    answers: {grade_id: source} of correct answers to use instead of the reference solution's.
    """
    nb = answered(**answers)
    cells_by_id(nb)["ex1_answer"].source += "\n" + ATTACKS.replace("PROBE_PORT", str(probe_port))
    write(folder, nb)
    (folder / "course.py").write_text("raise ImportError('a course.py beside the notebook was imported')\n")
    return FULL


# Wrong answers dressed to pass every check made inside the kernel: a comparison, a builtin and the course
# package patched for the length of one test cell (put back by an IPython hook after it), and answers that
# claim to equal anything. Hidden tests judged outside the kernel (grading.judge) must fail each of these
# exercises, and the honest answers beside them keep their points.
def patched_during_its_test(target, attr, replacement):
    """Code that sets target.attr = replacement and puts it back once the test cell after it has run."""
    return f"""
import {target.split('.')[0]}
_real = {target}.{attr}
{target}.{attr} = {replacement}
def _put_back(result, _cells=[0], _real=_real):
    _cells[0] += 1
    if _cells[0] == 2:  # this answer cell, then its test cell
        {target}.{attr} = _real
get_ipython().events.register("post_run_cell", _put_back)
"""


CHEATS = {
    "ex1_answer": "class _Close(float):\n    def __sub__(self, other):\n        return 0.0\n\n"
                  "def flux_summary(fluxes, prior):\n    return tuple(_Close(v) for v in (60000, 12000, 64000, 9000))\n",
    "ex2_answer": patched_during_its_test("torch", "allclose", "lambda *args, **kwargs: True")
                  + "def background_fraction(images, background):\n    return torch.full((images.shape[0],), 0.9)\n",
    "ex3_answer": patched_during_its_test("course", "flux_rmse", "lambda *args: 1.0")
                  + "_lab_data = data\n"
                    "def posterior_mean_rmse(data, bin_width, grid_size):\n"
                    "    if data is not _lab_data:\n        return 1.0  # what the patched course.flux_rmse says\n"
                    "    return grid_rmse if (bin_width, grid_size) == (100, 5000) else 2 * grid_rmse\n"
                    "coarse_rmse = posterior_mean_rmse(data, 10000, 50)\n",
    "ex7_answer": "class _Any(tuple):\n    def __eq__(self, other):\n        return True\n\n"
                  "def img_rate_shape(n, img_dim, num_samples):\n    return _Any((1, 2, 3, 4))\n",
    "ex8_answer": patched_during_its_test("builtins", "abs", "lambda x: -1.0")
                  + "def neg_elbo_terms(q_mean, q_sd, eps, data):\n    return 1.0, 1.0, -1.0\n"
                    "terms = neg_elbo_terms(None, None, None, None)\n",
    "ex11_answer": "class _Eq(int):\n    __hash__ = int.__hash__\n    def __eq__(self, other):\n        return True\n\n"
                   "def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):\n    return _Eq(1)\n",
}


def cheater(folder, **answers):
    write(folder, answered(**dict(answers, **CHEATS)))
    return dict(FULL, ex1_test=0, ex2_test=0, ex3_test=0, ex7_test=0, ex8_test=0, ex11_test=0)


# Code in an answer cell that sees every later cell before it runs, and prints it: IPython's event hooks, an
# input transformer, and the kernel's current request. Test code never reaches the kernel, so
# nothing of a test is printed (tests/test_grading.py reads the feedback for every hidden line).
SPY = """
import sys
def _show(text):
    print("SPIED:", text)
get_ipython().events.register("pre_run_cell", lambda info: _show(info.raw_cell))
get_ipython().events.register("post_run_cell", lambda result: _show(get_ipython().kernel.get_parent()["content"].get("code", "")))
get_ipython().input_transformers_cleanup.append(lambda lines: (_show("".join(lines)), lines)[1])
"""


# An honest answer to Exercise 7 that prints the arguments of every call it gets (what it prints during a hidden
# call is dropped) and keeps them, the hidden test's included, and a later answer cell of the student's that
# prints them into the feedback (no hidden call is running then). What it
# learns are the cases of its own submission: any other submission meets others (grading.hidden_cases).
RECORD = """
_recorded, _img_rate_shape = [], img_rate_shape
def img_rate_shape(*args, **kwargs):
    _recorded.append(args)
    print("CALLED WITH", args)
    return _img_rate_shape(*args, **kwargs)
"""
RECORDED, CALLED = "RECORDED:", "CALLED WITH"


def record_hidden_calls(nb):
    """The notebook with RECORD in Exercise 7's answer cell and a print of what it recorded in Exercise 11's."""
    cells = cells_by_id(nb)
    cells["ex7_answer"].source += "\n" + RECORD
    cells["ex11_answer"].source += f"\nprint({RECORDED!r}, _recorded)\n"
    return nb


# The class's course secret (tests/conftest.py writes it beside the gradebook). A grader that gave the judge this
# secret itself would hand every submission the same hidden cases: those a recorder printed once, or a table of
# them, would then answer the hidden tests of every later submission.
CLASS_SECRET = "the vi_stars class of the test suite"


def course_wide_cases(secret=CLASS_SECRET):
    """{answer_id: {arguments: answer}}: Exercises 7 and 11's hidden cases drawn from the course secret alone (the
    hidden tests' own recipes, as a student reading recorded cases would tabulate them), with the visible ones."""
    import torch
    from course.testing import SECRET_VARIABLE, hidden_generator
    before = os.environ.get(SECRET_VARIABLE)
    os.environ[SECRET_VARIABLE] = secret
    try:
        shape = torch.randint(2, 60, (2, 3), generator=hidden_generator("ex7")).tolist()
        n, s, mb, dim = (int(v) for v in torch.randint(2, 40, (4,), generator=hidden_generator("ex11")))
    finally:
        os.environ.pop(SECRET_VARIABLE) if before is None else os.environ.update({SECRET_VARIABLE: before})
    shape[0][1], shape[1][2] = shape[0][0] + 1, shape[1][0] + 2
    n = n + mb
    work = {("per-image", 256, 64, 8, 15): 256 * 64 * 225, ("amortized", 256, 64, 8, 15): 8 * 64 * 225,
            ("per-image", n, s, 8, dim): n * s * dim ** 2, ("amortized", n, s, mb, dim): mb * s * dim ** 2,
            ("amortized", 16, 64, 8, 15): 8 * 64 * 225, ("per-image", 16, 64, 8, 15): 16 * 64 * 225,
            ("per-image", 3, 2, 8, 5): 3 * 2 * 25, ("amortized", 3, 2, 4, 5): 4 * 2 * 25}
    return {"ex7_answer": {(16, 15, 64): (16, 15, 15, 64), **{tuple(c): (c[0], c[1], c[1], c[2]) for c in shape}},
            "ex11_answer": work}


def replayer(folder, **answers):
    """Exercises 7 and 11 answered from a table of hidden cases (course_wide_cases), wrong everywhere else; honest
    answers elsewhere. Its own submission's cases are not in the table: it loses both tests' points."""
    table = course_wide_cases()
    replays = {
        "ex7_answer": f"_table = {table['ex7_answer']!r}\n"
                      "def img_rate_shape(n, img_dim, num_samples):\n"
                      "    return _table.get((n, img_dim, num_samples), (1, 1, 1, 1))\n",
        "ex11_answer": f"_work = {table['ex11_answer']!r}\n"
                       "def poisson_terms_per_step(method, n, num_samples=64, minibatch=8, img_dim=15):\n"
                       "    return _work.get((method, n, num_samples, minibatch, img_dim), 1)\n",
    }
    write(folder, answered(**dict(answers, **replays)))
    return dict(FULL, ex7_test=0, ex11_test=0)


def spy(folder, **answers):
    """Honest answers, and hooks that print every later cell, as it runs, into the notebook's outputs; it records
    the cases of Exercise 7's hidden test and prints them from a later cell (record_hidden_calls)."""
    nb = record_hidden_calls(answered(**answers))
    cells_by_id(nb)["ex1_answer"].source += "\n" + SPY
    write(folder, nb)
    return FULL


# Answers that return what the test is about to compare them with: the caller's `_want`, or the numbers on
# the calling line (read through linecache). In the judge there is no caller to read: each gets nothing.
PEEK = """
import sys, linecache, re
def _peek(default=None):
    for depth in range(1, 8):
        try:
            frame = sys._getframe(depth)
        except ValueError:
            break
        for space in (frame.f_locals, frame.f_globals):
            if "_want" in space:
                return space["_want"]
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
        if "==" in line:
            numbers = re.findall(r"[0-9][0-9_*. ]*", line.split("==", 1)[1])
            if numbers:
                return eval(numbers[0])
    return default
"""
PEEKERS = {
    "ex1_answer": PEEK + "def flux_summary(fluxes, prior):\n    return _peek((0.0, 0.0, 64000.0, 12800.0))\n",
    "ex2_answer": PEEK + "def background_fraction(images, background):\n    return _peek(torch.full((images.shape[0],), 0.9))\n",
    "ex5_answer": PEEK + "def clamp_by_hand(x, floor):\n    return _peek(x)\n\nexample = torch.tensor([-50.0, 0.0, 3e-5, 1e-4, 2.0])\n",
    "ex7_answer": PEEK + "def img_rate_shape(n, img_dim, num_samples):\n    return _peek((n, img_dim, img_dim, 64))\n",
}


def peeker(folder, **answers):
    write(folder, answered(**dict(answers, **PEEKERS)))
    return dict(FULL, ex1_test=0, ex2_test=0, ex5_test=0, ex7_test=0)


# An input transformer that rewrites every later cell before the kernel runs it: asserts become no-ops. Test
# cells are not run by the kernel, so there is nothing of theirs to rewrite; the wrong Ex 7 loses its points.
REWRITER = """
import re
get_ipython().input_transformers_cleanup.append(
    lambda lines: [re.sub(r"^(\\s*)assert\\b.*$", r"\\1pass", line) for line in lines])
"""


def rewriter(folder, **answers):
    nb = answered(ex7_answer=WRONG_EX7, **answers)
    cells_by_id(nb)["ex1_answer"].source += "\n" + REWRITER
    write(folder, nb)
    return dict(FULL, ex7_test=0)


def _stopped_in_ex6(folder, code, answers):
    nb = answered(**answers)
    cell = cells_by_id(nb)["ex6_answer"]
    cell.source = code + "\n" + cell.source
    write(folder, nb)
    earned = {"ex1_test", "ex2_test", "ex3_test", "ex4_test", "ex5_test"}
    return {gid: (pts if gid in earned else 0) for gid, pts in FULL.items()}


def dies(folder, **answers):
    """The kernel exits in the middle of the notebook: the tests before it keep their points."""
    return _stopped_in_ex6(folder, "import os\nos._exit(1)", answers)


def ignores_interrupt(folder, **answers):
    """A loop that ignores SIGINT and waits for ever (as code polling for what never comes): the kernel is stopped;
    the tests before it keep their points. (It sleeps: the busy loop is `endless`'s.)"""
    return _stopped_in_ex6(folder, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
                           "    time.sleep(1)", answers)


def endless(folder, **answers):
    """An endless loop that the timeout's interrupt stops: only the exercise it sits in is lost."""
    nb = answered(**answers)
    cell = cells_by_id(nb)["ex11_answer"]
    cell.source = "while True:\n    pass\n" + cell.source
    write(folder, nb)
    return dict(FULL, ex11_test=0)


# Malformed submissions: each is graded on what can be graded, or reported NOT GRADED with its reason; none
# stops the batch, and nothing is followed out of the student's folder.
def linked_notebook(folder):
    """The notebook is a symbolic link to the instructor's solution: refused, never followed."""
    folder.mkdir(parents=True)
    os.symlink("../../../source/vi_stars/vi_stars.ipynb", folder / f"{ASSIGNMENT}.ipynb")
    return None


def linked_folder(folder):
    folder.parent.mkdir(parents=True)
    os.symlink("../../source/vi_stars", folder)
    return None


def deep_json(folder):
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    return None


def future_format(folder):
    nb = json.loads(nbformat.writes(answered()))
    nb["nbformat"], nb["nbformat_minor"] = 5, 99
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb))
    return None


def odd_but_honest(folder, **answers):
    """Honest answers in a notebook with a written answer citing a missing image, a malformed attachment, a test
    cell of the student's own worth 100 points, a cell claiming another's grade_id, metadata that is not a dict,
    and extra files that are links out of the folder: graded on the release's cells, out of 25. Like the spy, it
    records Exercise 7's hidden cases and prints them (record_hidden_calls)."""
    nb = record_hidden_calls(answered(**answers))
    cells = cells_by_id(nb)
    cells["ex3_written"].source += "\n\n![my figure](attachment:figure.png)"
    cells["ex4_written"].source += "\n\n![other](attachment:other.png)"
    cells["ex4_written"]["attachments"] = {"other.png": {"image/png": 7}}
    position = nb.cells.index(cells["ex1_test"]) + 1
    nb.cells.insert(position, nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "points": 100, "locked": True, "solution": False, "schema_version": 3}}))
    nb.cells.insert(position, nbformat.v4.new_markdown_cell("mine", metadata={"nbgrader": {
        "grade": True, "grade_id": "ex2_test", "points": 50, "solution": True, "locked": False, "schema_version": 3}}))
    nb.cells.insert(position, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "grade me"}))
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb))  # as JSON: nbformat would refuse the attachment
    os.symlink("../../../source/vi_stars/vi_stars.ipynb", folder / "solution.ipynb")
    os.symlink("../../../source", folder / "data")
    return FULL


CORPUS = {f.__name__: f for f in (honest, blank, wrong_ex2, messy, renamed, invalid_json, hostile, cheater, spy,
                                   peeker, rewriter, dies, ignores_interrupt, endless, linked_notebook, linked_folder,
                                   deep_json, future_format, odd_but_honest, replayer)}

# Submissions that lose points of their own and leave other answer cells alone: {student: the answer cells
# it writes itself}. The mutation tests' wrong answers ride in the cells they leave alone (tests/conftest.py),
# where the tests of those cells lose their points only if the test catches the wrong answer.
MUTANT_HOSTS = {
    "wrong_ex2": {"ex2_answer"},
    "messy": {"ex1_answer", "ex4_answer", "ex7_answer", "ex11_answer"},
    "rewriter": {"ex1_answer", "ex7_answer"},
    "endless": {"ex11_answer"},
    "dies": {"ex6_answer"},
    "ignores_interrupt": {"ex6_answer"},
    "cheater": set(CHEATS),
    "peeker": set(PEEKERS),
    "replayer": {"ex7_answer", "ex11_answer"},
}
