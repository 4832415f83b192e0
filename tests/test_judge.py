"""Test cells judged outside the student's kernel: the data that crosses, and what a kernel can and cannot do.

The notebook-level tests run grading.execute.GuardedExecute on a small notebook in a real kernel (no
sandbox, a few seconds): answer cells that try what a hostile student would, and test cells that check
what reached the judge.
"""
import ast
import builtins
import collections
import dataclasses
import json
import math
import time

import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

import course
from grading import judge, wire
from grading.cells import is_test_cell
from grading.execute import GuardedExecute
from grading.feedback import visible_source
from grading.submissions import NOTEBOOK, ROOT, notebook, read

SOURCE = read(ROOT / "source" / NOTEBOOK)


def roundtrip(value):
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


@pytest.mark.parametrize("value", [
    None, True, 3, 2**80, 1.5, float("inf"), 1 - 2j, "text", (1, 2.5), [1, (2, 3)], {"a": 1.0, 2: (3,)}, {1, 2},
    torch.tensor([[1.0, 2.5]]), torch.arange(6, dtype=torch.float64).reshape(2, 3).T, torch.tensor([1, 2]),
    torch.tensor([True, False]), torch.ones(2, dtype=torch.bfloat16), torch.empty(0, 3), np.arange(4.0).reshape(2, 2),
    np.array([1, 2], dtype=np.int32), np.float32(2.5), np.bool_(True),
])
def test_data_comes_back_exactly_as_it_was(value):
    back = roundtrip(value)
    assert type(back) is type(value)
    if isinstance(value, torch.Tensor):
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value


def test_subclasses_come_back_as_the_plain_type():
    Pair = collections.namedtuple("Pair", "a b")
    assert type(roundtrip(torch.Size([3, 4]))) is tuple and roundtrip(torch.Size([3, 4])) == (3, 4)
    assert type(roundtrip(Pair(1, 2))) is tuple
    assert type(roundtrip(torch.nn.Parameter(torch.ones(2)))) is torch.Tensor
    assert type(roundtrip(collections.OrderedDict(a=1))) is dict
    assert math.isnan(roundtrip(float("nan")))


def test_the_courses_data_classes_cross_and_are_rebuilt_by_their_own_constructors():
    data = course.simulate(n=3, seed=4)
    back = roundtrip(data)
    assert isinstance(back, course.StarData) and torch.equal(back.images, data.images)
    assert float(back.prior.loc) == float(data.prior.loc) and back.background == data.background
    vi = roundtrip(course.fit_vi(data, iterations=5))
    assert isinstance(vi, course.VIResult) and isinstance(vi.history.records[0], course.LogRecord)


def test_anything_else_is_refused_by_type():
    class Mine(float):
        pass
    for value in [object(), print, torch.nn.Linear(2, 2), np.array(["a"]), np.array([None]), Mine]:
        with pytest.raises(wire.NotData):
            wire.encode(value)


@pytest.mark.parametrize("tree", [
    {"t": "module", "v": "os"}, {"t": "data", "cls": "Popen", "v": {}}, {"t": "dist", "cls": "StarData", "v": {}},
    {"t": "tensor", "dtype": "object", "shape": [1], "v": ""}, {"t": "tensor", "dtype": "float32", "shape": [2], "v": "AAAA"},
    {"t": "ndarray", "dtype": "|O", "shape": [1], "v": "AAAAAAAAAAA="}, {"t": "int", "v": "1" * 5000},
    {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]}, {"t": "tuple", "v": "no"}, "text", [],
    {"t": "data", "cls": "StarData", "v": {"psf": {"t": "none"}}},
])
def test_malformed_trees_are_refused(tree):
    with pytest.raises(wire.NotData):
        wire.decode(tree)


def test_deep_trees_are_refused():
    tree = {"t": "none"}
    for _ in range(wire.MAX_DEPTH + 5):
        tree = {"t": "list", "v": [tree]}
    with pytest.raises(wire.NotData, match="deep"):
        wire.decode(tree)


def free_names(source):
    """Names a cell reads but never binds or imports, less the builtins."""
    loaded, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return loaded - bound - set(dir(builtins))


@pytest.mark.parametrize("assignment, count", [("vi_stars", 11), ("vi_beyond", 7), ("vi_two_stars", 5)])
def test_every_test_cell_imports_what_it_uses_and_reads_only_the_notebooks_data(assignment, count):
    """A test cell runs in the judge, where the notebook's imports do not exist: it imports what it uses."""
    source = read(ROOT / "source" / notebook(assignment))
    imported, defined = set(), set()
    for cell in source.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.alias):
                    imported.add((node.asname or node.name).split(".")[0])
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    defined.add(node.id)
                elif isinstance(node, ast.FunctionDef):
                    defined.add(node.name)
    tests = [c for c in source.cells if is_test_cell(c)]
    assert len(tests) == count
    for cell in tests:
        names = free_names(cell.source)
        assert not names & imported, (cell.metadata.nbgrader.grade_id, names & imported)
        assert names <= defined, (cell.metadata.nbgrader.grade_id, names - defined)


# --- a real kernel ----------------------------------------------------------------------------------------
SECRET = "sixty-four thousand and one"  # only in the hidden tests below

ANSWERS = r'''
import sys, torch, numpy as np, collections
from torch import nn
SEEN = []
def _spy(info):
    SEEN.append(info.raw_cell)
    print("SPY", info.raw_cell)
get_ipython().events.register("pre_run_cell", _spy)
get_ipython().input_transformers_cleanup.append(lambda lines: (SEEN.append("".join(lines)), lines)[1])
def _tracer(frame, event, arg):
    if "_want" in frame.f_globals or "_want" in frame.f_locals:
        SEEN.append(str(frame.f_globals.get("_want", frame.f_locals.get("_want"))))
    return None
sys.settrace(_tracer)

def peek(x):
    """Returns whatever the caller is about to compare with, if it can find it."""
    f = sys._getframe(1)
    return f.f_globals.get("_want", f.f_locals.get("_want", x))
def shape_answer():
    return torch.zeros(2, 3, 4).shape
Pair = collections.namedtuple("Pair", "a b")
def pair():
    return Pair(1.5, np.float32(2.5))
def parameter():
    return nn.Parameter(torch.ones(3))
def strict(x):
    if x < 0:
        raise ValueError("x must be >= 0, got %s" % x)
    return x
class Anything(float):
    def __eq__(self, other):
        return True
def anything():
    return Anything(1.0)
def module():
    return sys
def leaked():
    return any("HIDDEN" in s or "_want" in s for s in SEEN)
def chatty():
    print("hello from the kernel")
    return 7
def echo(x):
    print("echo was called with", x)
    return torch.tensor([x])  # an answer that spells out what it was called with, in its shape and values
def loud(x):
    class CalledWith31338(ValueError):
        pass
    raise CalledWith31338(f"called with {x}")
lab_value = torch.arange(3.0)
expected = None
def reads_expected():
    return expected
'''

TEST_CELLS = {
    "peek": f"x = peek(5)\n### BEGIN HIDDEN TESTS\n_want = '{SECRET}'\nassert peek(1) == 1, 'peek returns its argument'\n### END HIDDEN TESTS",
    "values": "import torch\nassert shape_answer() == (2, 3, 4)\nassert pair() == (1.5, 2.5)\n"
              "assert torch.equal(parameter(), torch.ones(3)) and type(parameter()) is torch.Tensor\n"
              "assert torch.equal(lab_value, torch.arange(3.0))",
    "raises": "try:\n    strict(-1)\nexcept ValueError as err:\n    assert 'x must be >= 0' in str(err)\nelse:\n    raise AssertionError('expected ValueError')\nassert strict(2) == 2",
    "anything": "assert anything() != 2.0",
    "module": "module()",
    "missing": "never_defined()",
    "chatty": "print('the test prints')\nassert chatty() == 7",
    "hidden_fails": f"assert strict(1) == 1\n### BEGIN HIDDEN TESTS\nassert strict(3) == 4, 'strict must return its argument'  # {SECRET}\n### END HIDDEN TESTS",
    "leak": "assert not leaked()",
    "hidden_quiet": "assert chatty() == 7\n### BEGIN HIDDEN TESTS\nassert chatty() == 7\n### END HIDDEN TESTS",
    "hidden_echo": "from course.testing import assert_close\n### BEGIN HIDDEN TESTS\n"
                   "assert_close(echo(31337.0), [1.0], 'echo(x)', hint='return [1.0]')\n### END HIDDEN TESTS",
    "hidden_shape": "from course.testing import as_values\n### BEGIN HIDDEN TESTS\nas_values(echo(31337.0), 'echo(x)', (5,))\n"
                    "### END HIDDEN TESTS",
    "hidden_raise": "### BEGIN HIDDEN TESTS\nloud(31338)\n### END HIDDEN TESTS",
    "raises_visibly": "loud(5)",
    # a name the test binds without reading it from the notebook is the test's own, even where the notebook has one
    "own_names": "expected = 31337\nassert reads_expected() is None\ndel expected\nassert reads_expected() is None",
}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells.append(new_code_cell(ANSWERS))
    for name, source in TEST_CELLS.items():
        nb.cells.append(new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": name, "points": 1,
                                                                     "locked": True, "solution": False}}))
    nb.cells.append(new_code_cell("print('SEEN', len(SEEN))"))
    folder = tmp_path_factory.mktemp("judged")
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    return {c.metadata["nbgrader"]["grade_id"] if "nbgrader" in c.metadata else "last": c for c in nb.cells[1:]}


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def text(cell):
    return json.dumps(cell.outputs)


def test_no_test_code_reaches_the_kernel(judged):
    for cell in judged.values():
        assert SECRET not in text(cell) and "BEGIN HIDDEN" not in text(cell)
    assert not errors(judged["leak"])
    # the hooks ran, and saw nothing of a test but the names it read and the data it passed
    assert "SPY __grading__.lookup('leaked')" in text(judged["leak"])


def test_an_answer_cannot_read_what_it_is_compared_with(judged):
    assert not errors(judged["peek"])  # peek found no _want: it returned its argument


def test_correct_values_in_other_types_pass(judged):
    assert not errors(judged["values"])


def test_a_student_exception_comes_back_by_type_and_message(judged):
    assert not errors(judged["raises"])


def test_objects_of_the_kernels_making_cannot_pass(judged):
    assert not errors(judged["anything"])  # it came back as the plain float 1.0, which is not 2.0
    [err] = errors(judged["module"])
    assert "cannot be graded" in err.evalue and "module" in err.evalue
    [err] = errors(judged["missing"])
    assert err.ename == "NameError" and "not defined in the notebook" in err.evalue


def test_what_the_test_and_the_students_function_print_is_shown(judged):
    assert "the test prints" in text(judged["chatty"]) and "hello from the kernel" in text(judged["chatty"])
    assert not errors(judged["chatty"])


def test_a_failing_hidden_test_shows_its_message_not_its_code(judged):
    [err] = errors(judged["hidden_fails"])
    assert err.ename == "AssertionError" and err.evalue == "strict must return its argument"
    assert judge.HIDDEN_NOTE in err.traceback and "strict(3)" not in text(judged["hidden_fails"])


def test_a_hidden_line_leaves_nothing_of_the_kernel_in_the_outputs_but_its_verdict(judged):
    """What the notebook printed during a hidden line's call, what it returned (in a check's message) and what it
    raised (type, message, traceback) stay out of the outputs: an answer could spell out its hidden inputs in any."""
    assert text(judged["hidden_quiet"]).count("hello from the kernel") == 1 and not errors(judged["hidden_quiet"])
    [err] = errors(judged["hidden_echo"])
    assert err.evalue == "echo(x) is not right: return [1.0]" and "31337" not in text(judged["hidden_echo"])
    [err] = errors(judged["hidden_shape"])
    assert err.evalue == "echo(x) must have shape (5,)" and "31337" not in text(judged["hidden_shape"])
    [err] = errors(judged["hidden_raise"])
    assert err.evalue == judge.HIDDEN_FAILED and "31338" not in text(judged["hidden_raise"])
    assert "ValueError" not in text(judged["hidden_raise"])


def test_a_visible_line_shows_what_the_kernel_said(judged):
    """The same answers called from visible lines keep everything: the student needs it to debug."""
    assert "hello from the kernel" in text(judged["chatty"])
    [err] = errors(judged["raises_visibly"])
    assert "called with 5" in err.evalue and "CalledWith31338" in err.ename


def test_feedback_source_keeps_only_the_visible_part():
    source = TEST_CELLS["hidden_fails"]
    assert visible_source(source) == "assert strict(1) == 1"


@pytest.mark.parametrize("tag", ["set", "frozenset", "dict"])
def test_colliding_keys_are_refused_before_they_cost_quadratic_time(tag):
    """Multiples of 2**61 - 1 all hash to 0: a set of 20,000 of them takes seconds to build, 200,000 hours."""
    items = [{"t": "int", "v": str(k * (2**61 - 1))} for k in range(20_000)]
    items += [{"t": "float", "v": float.hex(float(k * (2**61 - 1)))} for k in range(1, 1000)]
    tree = {"t": tag, "v": [[item, {"t": "none"}] for item in items] if tag == "dict" else items}
    start = time.perf_counter()
    with pytest.raises(wire.NotData, match=f"more than {wire.MAX_HASHED} items in sets"):
        wire.decode(tree)
    assert time.perf_counter() - start < 1


def test_trees_of_too_many_values_are_refused_and_text_keys_are_not_limited():
    with pytest.raises(wire.NotData, match="values in one answer"):
        wire.decode({"t": "list", "v": [{"t": "none"}] * wire.MAX_NODES})
    many = {f"k{i}": i for i in range(5 * wire.MAX_HASHED)}
    assert roundtrip(many) == many
    assert roundtrip(set(range(wire.MAX_HASHED))) == set(range(wire.MAX_HASHED))
    with pytest.raises(wire.NotData, match="unhashable"):
        wire.decode({"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]})


def test_a_test_that_needs_more_memory_than_the_judges_limit_fails_and_the_judge_goes_on():
    """A test can size its work from a student's value: past judge.MEMORY it is a failed test, not a dead batch."""
    with judge.Judge(timeout=60) as j:
        verdict = j.run(f"block = bytearray({judge.MEMORY + 2**30})",
                        lambda code: (None, ""))
        assert verdict["error"]["ename"] == "MemoryError"
        assert j.run("x = 1 + 1", lambda code: (None, ""))["error"] is None


# --- honest values in unusual forms -------------------------------------------------------------------------

def test_conjugate_and_negative_views_cross_as_their_values():
    z = torch.tensor([1 + 2j, 3 - 1j])
    for view in (z.conj(), z.conj().imag, torch._neg_view(torch.tensor([1.0, -2.0]))):
        back = roundtrip(view)
        assert not back.is_conj() and not back.is_neg() and torch.equal(back, view.resolve_conj().resolve_neg())


@pytest.mark.parametrize("value, why", [
    (torch.empty(3, device="meta"), "meta device"),
    (torch.nested.nested_tensor([torch.ones(2), torch.ones(3)]), "nested tensor"),
])
def test_tensors_without_plain_values_are_refused_saying_why(value, why):
    with pytest.raises(wire.NotData, match=why):
        wire.encode(value)


def test_a_value_that_fails_while_it_is_read_is_refused_by_the_bridge_not_raised():
    """Any error of encode in the kernel becomes an 'unsupported' answer: the bridge always answers."""
    import dataclasses
    from grading.execute import BRIDGE
    bridge = {"__name__": "bridge-under-test"}
    exec(compile(BRIDGE, "<bridge>", "exec"), bridge)
    sent = []
    bridge["_publish"] = sent.append
    Broken = dataclasses.make_dataclass("Broken", ["x"])
    Broken.__module__ = "course.broken"
    value = Broken(1)
    del value.x  # reading the field raises AttributeError, not NotData
    bridge["Bridge"]({"value": value, "function": lambda: value}).lookup("value")
    calls = bridge["Bridge"]({"function": lambda: value})
    calls.lookup("function")
    calls.call(sent[-1]["handle"], json.dumps({"args": wire.encode([]), "kwargs": wire.encode({})}))
    assert [reply["kind"] for reply in sent] == ["unsupported", "callable", "unsupported"]
    assert "AttributeError" in sent[0]["type"]


@pytest.mark.parametrize("tag, dtype", [("tensor", "bool"), ("ndarray", "|b1")])
def test_bools_rebuilt_from_bytes_must_be_0_or_1(tag, dtype):
    assert wire.decode({"t": tag, "dtype": dtype, "shape": [2], "v": "AAE="}).tolist() == [False, True]
    with pytest.raises(wire.NotData, match="0 or 1"):
        wire.decode({"t": tag, "dtype": dtype, "shape": [2], "v": "AgM="})


def test_value_checks_read_numpy_data_of_either_byte_order():
    from course.testing import as_bool, as_number, as_values, assert_close
    big = np.arange(3.0).astype(">f8")
    assert torch.equal(as_values(big, "x", (3,)), torch.arange(3.0, dtype=torch.float64))
    assert_close(big, [0.0, 1.0, 2.0], "x")
    assert as_number(np.array([2.5], dtype=">f4"), "x") == 2.5
    assert as_bool(np.array([1], dtype=">i4"), "x") is True


@pytest.mark.parametrize("check", ["as_numbers", "as_ints"])
def test_sets_have_no_order_and_are_refused_by_name(check):
    from course import testing
    with pytest.raises(AssertionError, match="flux_summary.*no order"):
        getattr(testing, check)({1, 2}, "flux_summary(...)", 2)
    assert list(getattr(testing, check)((1, 2), "flux_summary(...)", 2)) == [1, 2]  # the ordered equivalent


def test_numbers_too_large_for_a_float_fail_as_a_check():
    from course.testing import as_int, as_number
    for check in (as_number, as_int):
        with pytest.raises(AssertionError, match="win_rate is too large for a float"):
            check(10**400, "win_rate")
    assert as_int(10**15, "n") == 10**15


def test_a_code_answer_graded_by_hand_runs_in_the_kernel_and_what_it_defines_stays(tmp_path):
    """A cell that is graded and a solution (Part D of nbgrader's ps1) is student code: it runs in the student's
    (sandboxed) kernel, never in the judge, and the cells after it use what it defined; the test after it is
    judged as usual."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    by_hand = {"grade": True, "solution": True, "locked": False, "grade_id": "application", "points": 2}
    test = {"grade": True, "solution": False, "locked": True, "grade_id": "application_test", "points": 1}
    nb.cells += [
        new_code_cell("import math, os\nprint('kernel', os.getpid())"),
        new_code_cell("def hypotenuse(a, b):\n    return math.sqrt(a * a + b * b)\nprint('answer', os.getpid())",
                      metadata={"nbgrader": by_hand}),
        new_code_cell("print(hypotenuse(1, 2))"),
        new_code_cell("assert abs(hypotenuse(3, 4) - 5) < 1e-12", metadata={"nbgrader": test}),
    ]
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    kernel, answer, after, judged = nb.cells
    pid = kernel.outputs[0]["text"].split()[1]
    assert not errors(answer) and answer.outputs[0]["text"].split() == ["answer", pid]
    assert not errors(after) and after.outputs[0]["text"].strip() == str(math.sqrt(5))
    assert not errors(judged)


def test_the_courses_secret_reaches_the_judge_and_never_the_kernel(tmp_path, monkeypatch):
    """Hidden tests draw their data from the course's secret (course.testing.hidden_seed): the judge has it, the
    student's kernel has neither the secret nor the seeds it makes, and another secret makes other seeds."""
    from course.testing import SECRET_VARIABLE, hidden_seed
    assert judge.SECRET_VARIABLE == SECRET_VARIABLE
    secret = tmp_path / "hidden-tests.secret"
    secret.write_text("a course's own secret\n")
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    test = {"grade": True, "solution": False, "locked": True, "grade_id": "t", "points": 1}
    nb.cells += [new_code_cell(f"import os\nprint('kernel sees', os.environ.get({SECRET_VARIABLE!r}))"),
                 new_code_cell("from course.testing import hidden_seed\nprint('seed', hidden_seed('ex1'))",
                               metadata={"nbgrader": test})]
    GuardedExecute(timeout=60, secret_file=str(secret)).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert nb.cells[0].outputs[0]["text"].strip() == "kernel sees None"
    monkeypatch.setenv(SECRET_VARIABLE, "a course's own secret")
    seed = hidden_seed("ex1")
    assert nb.cells[1].outputs[0]["text"].strip() == f"seed {seed}"
    monkeypatch.setenv(SECRET_VARIABLE, "another course")
    assert hidden_seed("ex1") != seed and hidden_seed("ex2") != hidden_seed("ex1")


def test_a_course_makes_its_secret_once_and_keeps_it_to_itself(tmp_path):
    import os
    import stat
    from grading import batch
    path = batch.course_secret(tmp_path)
    first = path.read_text()
    assert len(first.strip()) == 64 and batch.course_secret(tmp_path).read_text() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_each_submission_has_hidden_cases_of_its_own(tmp_path):
    """The judge's key (grading.hidden_cases) depends on the course secret, the assignment, the student and every
    byte and name of the submission's files, so a submission carrying a table of another's cases (or its own
    earlier ones) meets other cases; the same submission graded again meets the same ones."""
    import os
    import stat
    from grading.hidden_cases import submission_key, write_submission_key
    folder = tmp_path / "submitted" / "ada" / "vi_stars"
    folder.mkdir(parents=True)
    (folder / "vi_stars.ipynb").write_text('{"cells": []}')
    (folder / "timestamp.txt").write_text("2026-12-04 10:00:00")
    key = submission_key("s", "vi_stars", "ada", folder)
    assert len(key) == 64 and submission_key("s", "vi_stars", "ada", folder) == key
    others = {submission_key("t", "vi_stars", "ada", folder), submission_key("s", "vi_beyond", "ada", folder),
              submission_key("s", "vi_stars", "bob", folder), submission_key("s", "vi_star", "sada", folder)}
    (folder / "vi_stars.ipynb").write_text('{"cells": [1]}')  # one more byte: a table written into the notebook
    others.add(submission_key("s", "vi_stars", "ada", folder))
    (folder / "vi_stars.ipynb").rename(folder / "copy.ipynb")  # the same bytes under another name
    others.add(submission_key("s", "vi_stars", "ada", folder))
    (folder / "sub").mkdir()
    (folder / "sub" / "table.json").write_text("[]")  # a file beside the notebook
    others.add(submission_key("s", "vi_stars", "ada", folder))
    assert key not in others and len(others) == 7
    secret = tmp_path / "hidden-tests.secret"
    secret.write_text("s\n")
    written = write_submission_key(secret, "vi_stars", "ada", folder, tmp_path / "ada.key")
    assert written.read_text() == submission_key("s", "vi_stars", "ada", folder) + "\n"
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    secret.write_text("\n")
    with pytest.raises(ValueError, match="course secret .* is empty"):
        write_submission_key(secret, "vi_stars", "ada", folder, tmp_path / "ada.key")


def test_a_name_the_test_binds_without_reading_it_stays_in_the_judge(judged):
    """An answer that defines `expected` cannot receive the test's expected value: only a name the test took from
    the notebook (read or deleted) is bound in the kernel."""
    assert not errors(judged["own_names"])


# --- nbgrader's test idioms (tests/idioms.py) ---------------------------------------------------------------

def test_nbgraders_test_idioms_score_as_in_stock_nbgrader_but_for_mocks(tmp_path):
    """Deleting, rebinding, restoring and patching notebook names act in the kernel, by name; a function's in-place
    changes reach the test's objects. Scores by nbgrader's own determine_grade; stock's, from tests/idioms.py."""
    from nbgrader.utils import determine_grade
    from tests import idioms
    nb = idioms.notebook()
    GuardedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    tests = {c.metadata.nbgrader.grade_id: c for c in nb.cells if is_test_cell(c)}
    scores = {gid: determine_grade(cell)[0] for gid, cell in tests.items()}
    assert scores == idioms.OURS, {gid: [e.evalue for e in errors(c)] for gid, c in tests.items() if scores[gid] != idioms.OURS[gid]}
    assert {gid for gid in scores if scores[gid] != idioms.STOCK[gid]} == set(idioms.REFUSED)
    for gid, what in idioms.REFUSED.items():
        [err] = errors(tests[gid])
        assert err.ename == "TypeError" and what in err.evalue and "code does not cross" in err.evalue
    [err] = errors(tests["uses_cubes"])
    assert err.evalue == "sum_of_cubes does not use cubes"


def test_what_a_call_changed_is_written_back_into_the_tests_objects():
    from grading.inplace import write_back
    t, a = torch.zeros(2), np.zeros(2)
    nested = {"t": [t], "keep": (a, 1)}
    changed = {"t": [torch.ones(2)], "keep": (np.ones(2), 1), "new": 3}
    assert write_back(nested, changed) is nested and nested["t"][0] is t and nested["keep"][0] is a
    assert t.tolist() == [1.0, 1.0] and a.tolist() == [1.0, 1.0] and nested["new"] == 3
    grown = torch.zeros(2)
    write_back(grown, torch.ones(3, dtype=torch.float64))
    assert grown.dtype == torch.float64 and grown.tolist() == [1.0, 1.0, 1.0]
    data = course.simulate(n=3, seed=4)
    images = data.images
    write_back(data, dataclasses.replace(data, images=data.images + 1))
    assert data.images is images and torch.equal(images, course.simulate(n=3, seed=4).images + 1)


def test_a_reply_may_name_only_handles_the_judge_holds():
    names = judge.NotebookNames(lambda request: {"kind": "none"})
    with pytest.raises(wire.NotData, match="handle"):
        names.decode({"t": "handle", "v": 7})
    with pytest.raises(wire.NotData, match="unknown tag"):
        wire.decode({"t": "handle", "v": 0})  # without a table of handles, a tree holds none


def test_a_test_cells_last_value_is_its_result_and_a_hidden_line_shows_only_a_number():
    """nbgrader reads a number as a test's last value as partial credit; on a hidden line nothing else is shown."""
    from nbformat.v4 import new_code_cell as cell
    assert judge.shown_result([1, 4, 9], hidden=False) == "[1, 4, 9]"
    assert judge.shown_result(np.float64(0.5), hidden=True) == "0.5"
    assert judge.shown_result("31337", hidden=True) is None and judge.shown_result(True, hidden=True) is None
    test = cell("", metadata={"nbgrader": {"grade": True, "solution": False, "points": 2}})
    assert GuardedExecute.result_output("1.5", test).output_type == "execute_result"
    assert GuardedExecute.result_output("[1, 2]", test).output_type == "execute_result"
    assert GuardedExecute.result_output("2.5", test).output_type == "error"  # stock nbgrader's autograde would stop
