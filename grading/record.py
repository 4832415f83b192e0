"""Runs inside the student's kernel, at the top of each hidden block: records the student's answers.

grading.judge pastes this file's source into the hidden block (the sandboxed kernel cannot import
`grading`), then calls `_GradingRecorder(globals(), names)`. Each named function is wrapped so that
every call's result is recorded as plain data; each named variable is recorded as it stands. At the
end of the block `publish()` puts the functions back and sends the records as one display output,
which grading.judge reads, removes, and judges outside the kernel (grading.replay).

Nothing here decides a grade: a student who tampers with it can only send wrong records.
"""
import functools as _functools
import inspect as _inspect
import json as _json
import types as _types

from IPython.display import publish_display_data as _publish

_GRADING_MIME = "text/x-vi-stars-answers"


def _grading_encode(obj):
    """Plain data for what an answer returned: Python scalars, containers, tensors and arrays only."""
    kind = type(obj)
    if obj is None or kind in (bool, int, float, str):
        return {"t": "py", "v": obj}
    if kind in (list, tuple):
        return {"t": kind.__name__, "v": [_grading_encode(v) for v in obj]}
    if kind is dict and all(type(k) is str for k in obj):
        return {"t": "dict", "v": {k: _grading_encode(v) for k, v in obj.items()}}
    if kind.__module__ == "torch" and kind.__name__ == "Tensor":
        flat = obj.detach().cpu().reshape(-1)
        return {"t": "tensor", "dtype": str(obj.dtype), "shape": list(obj.shape), "v": flat.tolist()}
    if kind.__module__ == "numpy" and hasattr(obj, "tolist"):
        if kind.__name__ == "ndarray":
            return {"t": "ndarray", "dtype": str(obj.dtype), "shape": list(obj.shape), "v": obj.reshape(-1).tolist()}
        return {"t": "py", "v": obj.item()}  # a numpy scalar
    return {"t": "unsupported", "type": f"{kind.__module__}.{kind.__qualname__}"}


class _GradingRecorder:
    def __init__(self, namespace, names):
        self.namespace, self.originals, self.records = namespace, {}, {}
        for name in names:
            if name not in namespace:
                self.records[name] = {"kind": "missing", "why": f"{name} is not defined in the notebook"}
            elif isinstance(namespace[name], _types.ModuleType):
                self.records[name] = {"kind": "module", "module": namespace[name].__name__}
            elif callable(namespace[name]):
                self.wrap(name, namespace[name])
            else:
                self.records[name] = {"kind": "value", "value": _grading_encode(namespace[name])}

    def wrap(self, name, fn):
        try:
            source = _inspect.getsource(fn)
        except (OSError, TypeError):
            source = ""
        record = self.records[name] = {"kind": "function", "source": source, "results": []}

        @_functools.wraps(fn)
        def recorded(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:
                record["results"].append({"raised": f"{type(err).__name__}: {err}"})
                raise
            record["results"].append({"value": _grading_encode(result)})
            return result

        self.originals[name] = fn
        self.namespace[name] = recorded

    def publish(self):
        self.namespace.update(self.originals)
        _publish({_GRADING_MIME: _json.dumps(self.records)})
