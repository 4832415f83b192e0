"""The student's side of a test: look up a name, or call a function, in the notebook's kernel.

grading.judge sends this file (after grading/wire.py) to the sandboxed kernel before each test cell;
it binds `__grading__` in the notebook's namespace. The judge then asks, one request at a time:

    __grading__.lookup("name")             is `name` defined, a function, or data (and which)?
    __grading__.call("name", "<json>")     call the student's `name` with these arguments (data)

and each request answers with one display output of type MIME holding JSON. That is all the kernel
ever receives of a test: the names it reads and the arguments it passes. Nothing here decides a
grade: a kernel that tampers with it can only send back other data, which the judge checks strictly.
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

    def lookup(self, name):
        if name not in self.namespace:
            return _publish({"kind": "missing"})
        value = self.namespace[name]
        return _publish(_encoded(value, "callable" if callable(value) else "unsupported"))

    def call(self, name, payload):
        request = _json.loads(payload)
        args = decode(request["args"])  # noqa: F821
        kwargs = decode(request["kwargs"])  # noqa: F821
        try:
            result = self.namespace[name](*args, **kwargs)
        except KeyboardInterrupt as err:  # the grader's interrupt: the call ran past the cell's time limit
            return _publish(dict(_exception(err), message="interrupted: the call ran past the time limit"))
        except BaseException as err:  # SystemExit too: the test, not the kernel, decides what it means
            return _publish(_exception(err))
        return _publish(_encoded(result))


if __name__ == "__grading__":  # sent to the kernel by grading.execute (imported elsewhere for MIME only)
    get_ipython().user_ns["__grading__"] = Bridge(get_ipython().user_ns)  # noqa: F821
