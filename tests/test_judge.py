"""Hidden tests judged outside the kernel: what the kernel records, and how the replay judges it."""
import ast
import math
import sys

import numpy as np
import pytest
import torch

from grading import judge, replay
from grading.record import _grading_encode as encode
from grading.submissions import NOTEBOOK, ROOT, read

SOURCE = read(ROOT / "source" / NOTEBOOK)


def answer_names(nb):
    """Every name the notebook's answer cells define at top level: their functions and variables."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    names.add(node.name)
                elif isinstance(node, ast.Assign):
                    names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_every_hidden_block_reads_nothing_but_the_students_answers():
    """The convention the judge relies on: a hidden block imports all else it uses."""
    answers = answer_names(SOURCE)
    blocks = [judge.split_hidden(c.source) for c in SOURCE.cells if judge.is_test_cell(c)]
    assert len(blocks) == 11 and all(blocks)
    for _, body, _ in blocks:
        assert set(judge.free_names(body)) <= answers, judge.free_names(body)


@pytest.mark.parametrize("value", [
    1.5, float("nan"), 3, True, None, "text", (1, 2.5), [1, (2, 3)], {"a": 1.0},
    torch.tensor([[1.0, 2.5]], dtype=torch.float32), torch.arange(6, dtype=torch.float64).reshape(2, 3),
    torch.tensor([1, 2], dtype=torch.int64), torch.ones(3, requires_grad=True) * 2, np.arange(4.0).reshape(2, 2),
])
def test_recorded_answers_come_back_as_they_were(value):
    back = replay.decode(encode(value))
    if isinstance(value, torch.Tensor):
        assert type(back) is torch.Tensor and back.dtype == value.dtype and torch.equal(back, value.detach())
    elif isinstance(value, np.ndarray):
        assert np.array_equal(back, value) and back.dtype == value.dtype
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value and type(back) is type(value)


def test_objects_that_claim_to_equal_anything_cannot_be_recorded():
    class Any(tuple):
        def __eq__(self, other):
            return True
    with pytest.raises(replay.NotGradable, match="Any"):
        replay.decode(encode(Any((1, 2))))


def function(*results, source=""):
    return {"kind": "function", "source": source, "results": [{"value": encode(r)} for r in results]}


DOUBLE = "import torch\nassert torch.allclose(double(torch.ones(2)), torch.full((2,), 2.0)), 'double it'"


def test_a_right_answer_passes_and_a_wrong_one_fails_with_the_tests_message():
    right = replay.judge({"grade_id": "t", "hidden": DOUBLE, "answers": {"double": function(torch.full((2,), 2.0))}})
    wrong = replay.judge({"grade_id": "t", "hidden": DOUBLE, "answers": {"double": function(torch.ones(2))}})
    assert right == {"passed": True}
    assert wrong == {"passed": False, "ename": "AssertionError", "evalue": "double it"}


@pytest.mark.parametrize("record", [
    function(),                                                     # called here, never in the kernel
    {"kind": "function", "source": "", "results": [{"raised": "ValueError: no"}]},
    {"kind": "module", "module": "torch"},                          # an answer that says it is a module
    {"kind": "value", "value": encode(2.0)},                        # a number where a function was asked for
    {"kind": "missing", "why": "double is not defined in the notebook"},
])
def test_missing_or_misdescribed_answers_fail(record):
    assert not replay.judge({"grade_id": "t", "hidden": DOUBLE, "answers": {"double": record}})["passed"]


def test_source_checks_see_the_students_source():
    hidden = "import inspect\nassert '.clamp' not in inspect.getsource(clip)"
    honest = function(source="def clip(x):\n    return torch.where(x < 0, 0, x)\n")
    dodge = function(source="def clip(x):\n    return x.clamp(0)\n")
    assert replay.judge({"grade_id": "t", "hidden": hidden, "answers": {"clip": honest}})["passed"]
    assert not replay.judge({"grade_id": "t", "hidden": hidden, "answers": {"clip": dodge}})["passed"]


def test_replay_imports_the_installed_course_whatever_the_environment(tmp_path, monkeypatch):
    (tmp_path / "course.py").write_text("raise ImportError('a shadowing course.py was imported')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    hidden = "import course\nassert course.simulate(n=2, seed=1).images.shape == (2, 15, 15)"
    verdicts = judge.JudgeHiddenTests().replay([{"grade_id": "t", "hidden": hidden, "answers": {}}])
    assert verdicts == {"t": {"passed": True}}
    assert sys.flags.isolated == 0  # only the replay's interpreter is isolated, not this one


def test_recorder_wraps_and_puts_back(monkeypatch):
    from grading import record
    published = []
    monkeypatch.setattr(record, "_publish", published.append)
    namespace = {"square": lambda x: x * x, "rate": 0.5, "torch": torch}
    original = namespace["square"]
    recorder = record._GradingRecorder(namespace, ["square", "rate", "torch", "absent"])
    assert namespace["square"](3) == 9 and namespace["square"] is not original
    recorder.publish()
    assert namespace["square"] is original
    records = judge.json.loads(published[0][judge.MIME])
    assert records["square"]["results"] == [{"value": {"t": "py", "v": 9}}]
    assert records["rate"] == {"kind": "value", "value": {"t": "py", "v": 0.5}}
    assert records["torch"] == {"kind": "module", "module": "torch"}
    assert records["absent"]["kind"] == "missing"
