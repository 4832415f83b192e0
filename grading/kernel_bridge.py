"""The student's side of a test: the notebook's names, read, called, deleted and bound from the judge.

grading.judge sends this file (after grading/wire.py) to the sandboxed kernel before each test cell;
it binds `__grading__` in the notebook's namespace. The judge then asks, one request at a time:

    __grading__.lookup("name")               is `name` defined, a function (its handle), or data (which)?
    __grading__.call(handle, "<json>")       call the object of this handle with these arguments (data)
    __grading__.delete("name")               delete the notebook's `name` (a test's `del name`)
    __grading__.bind("name", "<json>")       bind the notebook's `name` to data, or to the object of a handle

and each request answers with one display output of type MIME holding JSON. A handle is a number the
bridge gives an object of the notebook when the judge looks it up; it names that object for the rest of
the test cell (a test that keeps `f = squares` and then deletes `squares` still calls the same function).
A call's answer says which arguments the function changed in place, as data, so the judge can write the
changes back into the test's own objects. That is all the kernel ever receives of a test: names,
handles, and the data the test passes. Nothing here decides a grade: a kernel that tampers with it can
only send back other data, which the judge checks strictly.
"""
import json as _json
import traceback as _traceback

MIME = "application/x-vi-stars-grading+json"
TRACEBACK_CHARS = 4000


def _publish(reply):
    from IPython.display import publish_display_data
    publish_display_data({MIME: _json.dumps(reply)})


def _exception(err):
    """type, the names of the builtin exception classes it derives from, message, traceback text."""
    import builtins
    bases = [c.__name__ for c in type(err).__mro__ if getattr(builtins, c.__name__, None) is c]
    lines = _traceback.format_exception(type(err), err, err.__traceback__)
    text = "".join(lines[:1] + lines[2:])  # less the frame of Bridge.call itself
    return {"kind": "raised", "type": type(err).__name__, "bases": bases, "message": str(err),
            "traceback": text[-TRACEBACK_CHARS:]}


def _encoded(value, kind_if_not_data="unsupported"):
    """The reply that carries `value`: its tree, or why it cannot cross (an error in encode included: a value
    that raises while it is read is refused like any other, by type)."""
    try:
        return {"kind": "value", "value": encode(value)}  # noqa: F821 (grading/wire.py)
    except NotData as err:  # noqa: F821
        return {"kind": kind_if_not_data, "type": str(err).removeprefix("an object of type ")}
    except Exception as err:
        return {"kind": "unsupported", "type": f"a {type(value).__name__} that could not be read "
                                               f"({type(err).__name__}: {str(err)[:200]})"}


class Bridge:
    def __init__(self, namespace):
        self.namespace = namespace
        self.objects, self.handles = {}, {}  # handle -> object; id(object) -> handle

    def _handle(self, value):
        if id(value) not in self.handles:
            self.handles[id(value)] = len(self.objects)
            self.objects[len(self.objects)] = value
        return self.handles[id(value)]

    def _object(self, handle):
        if handle not in self.objects:
            raise NotData(f"malformed data: no object has handle {handle}")  # noqa: F821
        return self.objects[handle]

    def _handle_of(self, value):
        return self.handles.get(id(value))

    def lookup(self, name):
        if name not in self.namespace:
            return _publish({"kind": "missing"})
        value = self.namespace[name]
        reply = _encoded(value)
        if reply["kind"] != "value" and callable(value):  # a function of the notebook: the judge calls it by handle
            reply = {"kind": "callable", "handle": self._handle(value)}
        return _publish(reply)

    def _changed(self, sent):
        """[[key, tree]] of the arguments whose data now differs from what was sent (key, tree, value): the
        arguments the call changed in place."""
        changed = []
        for key, tree, value in sent:
            try:
                after = encode(value, handle_of=self._handle_of)  # noqa: F821
            except Exception:  # an argument the call made unreadable: nothing to write back
                continue
            if after != tree:
                changed.append([key, after])
        return changed

    def call(self, handle, payload):
        request = _json.loads(payload)
        args = decode(request["args"], handles=self._object)  # noqa: F821
        kwargs = decode(request["kwargs"], handles=self._object)  # noqa: F821
        try:
            result = self._object(handle)(*args, **kwargs)
        except KeyboardInterrupt as err:  # the grader's interrupt: the call ran past the cell's time limit
            reply = dict(_exception(err), message="interrupted: the call ran past the time limit")
        except BaseException as err:  # SystemExit too: the test, not the kernel, decides what it means
            reply = _exception(err)
        else:
            reply = _encoded(result)
        reply["changed"] = {
            "args": self._changed(zip(range(len(args)), request["args"]["v"], args)),
            "kwargs": self._changed((name, tree, kwargs[name]) for (_, tree), name in zip(request["kwargs"]["v"], kwargs))}
        return _publish(reply)

    def delete(self, name):
        if name not in self.namespace:
            return _publish({"kind": "missing"})
        del self.namespace[name]
        return _publish({"kind": "done"})

    def bind(self, name, payload):
        self.namespace[name] = decode(_json.loads(payload), handles=self._object)  # noqa: F821
        return _publish({"kind": "done"})


if __name__ == "__grading__":  # sent to the kernel by grading.execute (imported elsewhere for MIME only)
    get_ipython().user_ns["__grading__"] = Bridge(get_ipython().user_ns)  # noqa: F821
