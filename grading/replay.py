"""Judge hidden tests outside the student's kernel, from the answers the kernel returned.

    python -I -m grading.replay < cells.json > verdicts.json

Code in the student's kernel can patch whatever a test calls there (`torch.allclose`, `builtins.abs`,
`sys.modules["course"]`). So each hidden block runs a second time here, in a fresh, isolated
interpreter (-I: no working folder or PYTHONPATH on sys.path), with `course`, torch and the rest
imported from the installed packages. The student's answers take part only as data: a function is
replaced by a stand-in that returns, call by call, the values the kernel recorded (grading.record);
a variable by its recorded value. Nothing the student wrote runs here.

Input: {"cells": [{"grade_id", "hidden": source, "answers": {name: record}}]}.
Output: {grade_id: {"passed": bool, "ename": ..., "evalue": ...}}.
"""
import importlib
import json
import linecache
import sys

import numpy as np
import torch


class NotGradable(Exception):
    """An answer the kernel could not record faithfully (an object of its own making, or no call at all)."""


def decode(value):
    """The Python or torch object a record describes; only plain data and tensors are ever made."""
    kind = value["t"]
    if kind == "py":
        return value["v"]
    if kind in ("list", "tuple"):
        items = [decode(v) for v in value["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: decode(v) for k, v in value["v"].items()}
    if kind == "tensor":
        dtype = getattr(torch, value["dtype"].removeprefix("torch."))
        return torch.tensor(value["v"], dtype=dtype).reshape(value["shape"])
    if kind == "ndarray":
        return np.array(value["v"], dtype=value["dtype"]).reshape(value["shape"])
    raise NotGradable(f"an answer of type {value.get('type', kind)} cannot be graded; return numbers, tuples or tensors")


def stand_in(name, record):
    """A function that returns the recorded results of `name`, in the order the kernel's calls made them."""
    results = iter(record["results"])
    filename = f"<answer {name}>"
    # inspect.getsource(stand_in) shows the student's source, as it would in the kernel
    lines = record.get("source", "").splitlines(keepends=True)
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    namespace = {}
    exec(compile(f"def {name}(*args, **kwargs):\n    return _next()\n", filename, "exec"),
         {"_next": lambda: _next_result(name, results)}, namespace)
    return namespace[name]


def _next_result(name, results):
    try:
        result = next(results)
    except StopIteration:
        raise NotGradable(f"{name} was called more often here than in the notebook's kernel") from None
    if "raised" in result:
        raise NotGradable(f"{name} raised in the notebook's kernel: {result['raised']}")
    return decode(result["value"])


def bind(name, record):
    kind = record["kind"]
    if kind == "function":
        return stand_in(name, record)
    if kind == "value":
        return decode(record["value"])
    if kind == "module":
        return importlib.import_module(record["module"])
    if kind == "import":  # a class or function of an installed package, e.g. torch.distributions.Normal
        obj = importlib.import_module(record["module"])
        for part in record["qualname"].split("."):
            obj = getattr(obj, part)
        return obj
    raise NotGradable(f"{name}: {record.get('why', 'not recorded')}")


def judge(cell):
    """Run one hidden block with the recorded answers; returns its verdict."""
    namespace = {"__name__": "__hidden_test__"}
    try:
        for name, record in cell["answers"].items():
            namespace[name] = bind(name, record)
        exec(compile(cell["hidden"], f"<hidden tests of {cell['grade_id']}>", "exec"), namespace)
    except Exception as err:  # any failure of the hidden block is a failed test, said by its message
        return {"passed": False, "ename": type(err).__name__, "evalue": str(err)}
    return {"passed": True}


def main():
    torch.set_num_threads(1)  # as in the notebook: results repeat exactly
    cells = json.load(sys.stdin)["cells"]
    json.dump({cell["grade_id"]: judge(cell) for cell in cells}, sys.stdout)


if __name__ == "__main__":
    main()
