"""Test cells judged outside the student's kernel: test code never runs there, student code never runs here.

nbgrader runs every test cell, hidden tests included, in the student's kernel, where code from an
answer cell can read them (IPython hooks see each cell before it runs), patch what they call, or
return objects that equal anything. Here each test cell runs instead in the judge: a separate, clean
Python (`python -I`, an empty working folder) with the installed `course`, one per notebook.

In the judge a test cell's names resolve as in the notebook, with one difference: what the notebook
defined lives in the kernel, so a name the test reads (and does not bind or import itself) is looked up
there (grading.kernel_bridge). Data comes back as data (grading.wire): a copy, checked strictly. A
function comes back as a `KernelFunction`, a handle: calling it sends its arguments to the kernel as data,
runs the student's function there, and brings back its result as data, or its exception by type and
message, and what the function changed in its arguments, written back into the test's objects
(grading.inplace). Expected values are computed only here, so nothing the kernel does can reach them.

Names cross, code does not: a test that deletes a notebook name (`del squares`), rebinds or restores one
(`squares = orig_squares`), or patches one for the length of a check (`unittest.mock.patch("__main__.f", g)`,
`patch.object(__main__, "f", g)`), does so in the kernel, by name, as in nbgrader; what it binds there must
be data or an object of the notebook (a handle), never a function or a mock made in the test.

A test cell imports everything it uses (torch, course, ...); its other free names are the notebook's.
The verdict is the exception: a cell fails when its code raises, and passes otherwise; as in a kernel, the
value of its last expression is its result, which nbgrader reads as partial credit when it is a number. What
the test printed, warnings included, is shown as text; it never costs points.

A hidden line leaves nothing in the feedback but its verdict. Each request to the kernel says whether a
hidden line made it (the test cell's frames on the stack), and what the kernel printed while it ran is
dropped; a failure on a hidden line shows the test's own words only: an assert's literal message, or the
`public` message of a course.testing check (what the test asked for, never what the answer was), else a
note that a hidden test failed; a result on a hidden line is shown only as a number. No traceback,
message or type name from the kernel is shown for it: an answer could spell out the hidden inputs it was
called with in any of them.

Host side: `Judge` (used by grading.execute.GuardedExecute) starts the judge process and relays its
requests to the kernel. Judge side: `serve()`, run as `python -I -c BOOT`.
"""
import ast
import builtins
import contextlib
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import traceback
import types
import warnings
from pathlib import Path

from grading import inplace, wire

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CELL_FILE = "<test cell>"
HIDDEN_NOTE = "(raised by a hidden test; its code is not shown)"
SECRET_VARIABLE = "COURSE_HIDDEN_SECRET"  # course.testing.SECRET_VARIABLE (not imported here: it would import torch)
HIDDEN_FAILED = "a hidden test failed (what it passed to the notebook, and what came back, are not shown)"
OUTPUT_CHARS = 10_000   # of text a test prints, or a student's function prints while a test calls it
# Address space of the judge process. A test can size its work from the notebook's values; past this it gets a
# MemoryError (a failed test) rather than the grading machine's memory. torch needs ~0.8 GB of it.
MEMORY = 4 * 2**30


def hidden_line_numbers(source):
    """The 1-based numbers of a test cell's hidden lines, markers included."""
    numbers, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        if inside:
            numbers.add(number)
        if line.strip() == END:
            inside = False
    return numbers


def clip(text, limit=OUTPUT_CHARS):
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit:,} more characters left out)\n"


# --- the judge process --------------------------------------------------------------------------------

class KernelStopped(BaseException):
    """The kernel died or stopped answering while a test waited on it (not catchable as Exception)."""


class StudentError(Exception):
    """An exception the student's code raised in the kernel, rebuilt here by type name and message."""

    kernel_traceback = ""


def rebuild_exception(reply):
    """An exception of the student's type (a subclass of the builtin it derives from) and message."""
    base = next((getattr(builtins, name) for name in reply.get("bases", []) if isinstance(name, str)
                 and name not in ("StopIteration", "StopAsyncIteration")  # these steer loops, not verdicts
                 and isinstance(getattr(builtins, name, None), type) and issubclass(getattr(builtins, name), Exception)),
                Exception)
    name = str(reply.get("type", "Exception"))[:100]
    err = type(name if name.isidentifier() else "Exception", (StudentError, base) if base is not Exception else (StudentError,), {})(
        str(reply.get("message", ""))[:2000])
    err.kernel_traceback = str(reply.get("traceback", ""))
    return err


CROSSES = ("data (numbers, strings, tuples, lists, dicts, tensors, numpy arrays, the course's data classes) "
           "or an object of the notebook (a function the test read from it)")


class KernelFunction:
    """A function of the notebook, by handle: a call runs it in the kernel, on data, and returns data; what it
    changed in its arguments is written back into the test's objects (grading.inplace)."""

    def __init__(self, name, handle, names):
        self.name, self.handle, self.names = name, handle, names
        self.__name__ = self.__qualname__ = name

    def __repr__(self):
        return f"<the notebook's {self.name}>"

    def __call__(self, *args, **kwargs):
        try:
            payload = {"args": self.names.encode(list(args)), "kwargs": self.names.encode(dict(kwargs))}
        except wire.NotData as err:
            raise TypeError(f"a test passed {self.name} something the kernel cannot be sent: {err}; what can cross is "
                            f"{CROSSES}") from None
        reply = self.names.ask({"op": "call", "name": self.name, "handle": self.handle, "payload": json.dumps(payload)})
        self._write_back(reply.get("changed"), args, kwargs)
        kind = reply.get("kind")
        if kind == "value":
            return self.names.decode(reply["value"])
        if kind == "raised":
            raise rebuild_exception(reply)
        if kind == "unsupported":
            raise TypeError(f"{self.name} returned {reply.get('type', 'an object')}, which cannot be graded: "
                            "return numbers, strings, tuples, lists, dicts, tensors or numpy arrays")
        raise TypeError(f"the notebook's kernel gave no answer for {self.name}: {reply.get('why', 'no reply')}")

    def _write_back(self, changed, args, kwargs):
        """The kernel's copies of the arguments the call changed in place, written into the test's own objects."""
        if changed is None:
            return
        if not isinstance(changed, dict):
            raise TypeError(f"the notebook's kernel gave a malformed answer for {self.name}")
        for key, tree in [*changed.get("args", []), *changed.get("kwargs", [])]:
            if type(key) is int and 0 <= key < len(args):
                sent = args[key]
            elif type(key) is str and key in kwargs:
                sent = kwargs[key]
            else:
                raise TypeError(f"the notebook's kernel gave a malformed answer for {self.name}")
            try:
                inplace.write_back(sent, self.names.decode(tree))
            except inplace.NotWritable as err:
                raise TypeError(f"{self.name} changed an argument in a way the test cannot see: {err}") from None


class NotebookNames(dict):
    """A test cell's namespace: its own names, then the notebook's (looked up in the kernel), then builtins.

    A name the test read from the notebook, or deleted, is the notebook's for the rest of the cell: `del name`
    deletes it in the kernel, and `name = value` binds it there (to data, or to an object of the notebook, such
    as a function the test kept before deleting it). Every other name the test binds is its own and stays here."""

    def __init__(self, ask):
        super().__init__(__name__="__test__", __builtins__=builtins)
        self.ask = ask
        self.notebooks = set()  # names of the notebook's, read or deleted in this cell
        self.functions = {}     # handle -> KernelFunction: the notebook's objects the test holds

    def encode(self, value):
        """The tree of `value` for the kernel; the notebook's own functions cross by handle."""
        return wire.encode(value, handle_of=lambda v: v.handle if isinstance(v, KernelFunction) else None)

    def decode(self, tree):
        """A value from the kernel; a handle in it may name only an object the test already holds."""
        def known(handle):
            if handle not in self.functions:
                raise wire.NotData(f"malformed data: no object of the notebook has handle {handle}")
            return self.functions[handle]
        return wire.decode(tree, handles=known)

    def __missing__(self, name):
        if name in builtins.__dict__:
            raise KeyError(name)  # Python goes on to the builtins
        reply = self.ask({"op": "lookup", "name": name})
        kind = reply.get("kind")
        if kind == "missing":
            raise NameError(f"name {name!r} is not defined in the notebook")
        if kind == "callable" and type(reply.get("handle")) is int:
            value = self.functions.setdefault(reply["handle"], KernelFunction(name, reply["handle"], self))
        elif kind == "value":
            value = self.decode(reply["value"])
        elif kind == "unsupported":
            raise TypeError(f"the notebook's {name} is {reply.get('type', 'an object')}, which a test cannot read: "
                            "tests read numbers, strings, tuples, lists, dicts, tensors, arrays and the course's data")
        else:
            raise TypeError(f"the notebook's kernel gave no answer for {name}: {reply.get('why', 'no reply')}")
        self.notebooks.add(name)
        dict.__setitem__(self, name, value)
        return value

    def __setitem__(self, name, value):
        if name in self.notebooks:
            self.bind(name, value)
        dict.__setitem__(self, name, value)

    def __delitem__(self, name):
        if name in self.notebooks or not dict.__contains__(self, name):
            self.delete(name)  # the notebook's name, or one the test never had: deleted in the kernel
            dict.pop(self, name, None)
        else:
            dict.__delitem__(self, name)  # the test's own name

    def bind(self, name, value):
        """Bind the notebook's `name` in the kernel: to data, or to an object of the notebook's."""
        try:
            tree = self.encode(value)
        except wire.NotData as err:
            raise TypeError(f"a test cannot bind the notebook's {name} to {err.args[0].removeprefix('an object of type ')}"
                            f": code does not cross into the notebook; what can is {CROSSES}") from None
        reply = self.ask({"op": "bind", "name": name, "payload": json.dumps(tree)})
        if reply.get("kind") != "done":
            raise TypeError(f"the notebook's kernel did not bind {name}: {reply.get('why', 'no reply')}")
        self.notebooks.add(name)

    def delete(self, name):
        """Delete the notebook's `name` in the kernel (NameError if it has none)."""
        reply = self.ask({"op": "delete", "name": name})
        self.notebooks.add(name)
        if reply.get("kind") == "missing":
            raise NameError(f"name {name!r} is not defined")
        if reply.get("kind") != "done":
            raise TypeError(f"the notebook's kernel did not delete {name}: {reply.get('why', 'no reply')}")


class NotebookModule(types.ModuleType):
    """`__main__` while a test cell runs: the notebook's namespace as a module, so that
    `unittest.mock.patch("__main__.f", g)` and `patch.object(__main__, "f", g)` patch the kernel's `f`."""

    def __init__(self, names):
        super().__init__("__main__")
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_refused", set())  # names whose binding was refused: nothing of it to undo

    def __getattr__(self, name):
        try:
            return self._names[name]
        except (NameError, KeyError):  # KeyError: a builtin's name, which no notebook defines
            raise AttributeError(f"the notebook has no {name!r}") from None

    def __setattr__(self, name, value):
        try:
            self._names.bind(name, value)
        except TypeError:
            self._refused.add(name)
            raise
        self._refused.discard(name)
        dict.__setitem__(self._names, name, value)

    def __delattr__(self, name):
        try:
            self._names.delete(name)
        except NameError:
            if name in self._refused:  # mock.patch undoing a patch that was refused: its TypeError is the verdict
                return
            raise AttributeError(f"the notebook has no {name!r}") from None
        finally:
            self._refused.discard(name)
        dict.pop(self._names, name, None)


def public_message(err, source):
    """The test's own words for a failure on a hidden line, or None: an assert's literal message (it is in the
    cell's source, so no answer made it), or a course.testing check's `public` message."""
    if isinstance(err, StudentError):
        return None
    public = getattr(err, "public", None)
    if isinstance(err, AssertionError) and isinstance(public, str):
        return public
    if type(err) is AssertionError and len(err.args) == 1 and isinstance(err.args[0], str) and err.args[0]:
        message = err.args[0]
        if repr(message) in source or json.dumps(message) in source:
            return message
    return None


def describe(err, source):
    """(ename, evalue, traceback lines) of a failed test cell; hidden lines are never quoted, and a failure on
    one says nothing the answer could have chosen."""
    hidden = hidden_line_numbers(source)
    lines = source.splitlines()
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == CELL_FILE]
    if frames and frames[-1].lineno in hidden:
        public = public_message(err, source)
        ename, evalue = "AssertionError", public if public is not None else HIDDEN_FAILED
        return ename, evalue, [HIDDEN_NOTE, f"{ename}: {evalue}"]
    ename, evalue = type(err).__name__, str(err)
    shown = [f"Test cell, line {f.lineno}\n----> {f.lineno} {lines[f.lineno - 1].strip()}"
             for f in frames if f.lineno not in hidden and 0 < f.lineno <= len(lines)]
    if isinstance(err, StudentError) and err.kernel_traceback:
        shown.append("raised in the notebook's kernel:\n" + clip(err.kernel_traceback, 4000))
    return ename, evalue, shown + [f"{ename}: {evalue}"]


def on_hidden_line(hidden):
    """Whether a line of the test cell in `hidden` is on the stack: the request being made comes from it."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == CELL_FILE and frame.f_lineno in hidden:
            return True
        frame = frame.f_back
    return False


def compiled(source):
    """(the cell less its last expression, that expression or None, its line): the value of a test cell's last
    expression is its result, as in a kernel (nbgrader reads a number there as partial credit)."""
    body = ast.parse(source, CELL_FILE).body
    if not body or not isinstance(body[-1], ast.Expr):
        return compile(source, CELL_FILE, "exec"), None, 0
    last = body.pop()
    return (compile(ast.Module(body=body, type_ignores=[]), CELL_FILE, "exec"),
            compile(ast.Expression(last.value), CELL_FILE, "eval"), last.lineno)


def shown_result(value, hidden):
    """The text/plain of a test cell's result, or None: a hidden line's result is shown only as a number (partial
    credit); anything else it computed could spell out what the kernel returned."""
    if value is None:
        return None
    if not hidden:
        return clip(repr(value), 2000)
    try:
        import numpy
        if isinstance(value, (int, float, numpy.number)) and not isinstance(value, (bool, numpy.bool_)):
            return repr(float(value))
    except (TypeError, ValueError, OverflowError):
        pass
    return None


def run_test_cell(source, ask):
    """Run one test cell; returns {"stdout": text, "error": None or {ename, evalue, traceback}, "result": the
    text/plain of its last expression's value, or None}."""
    hidden = hidden_line_numbers(source)
    printed = io.StringIO()
    error = result = None
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = NotebookNames(lambda request: ask(dict(request, hidden=on_hidden_line(hidden))))
        main, sys.modules["__main__"] = sys.modules["__main__"], NotebookModule(names)
        try:
            code, last, line = compiled(source)
            exec(code, names)
            if last is not None:
                result = shown_result(eval(last, names), line in hidden)
        except KernelStopped:
            raise
        except BaseException as err:  # the verdict: any exception fails the cell (SystemExit included)
            ename, evalue, lines = describe(err, source)
            error = {"ename": ename, "evalue": evalue, "traceback": lines}
        finally:
            sys.modules["__main__"] = main
    text = printed.getvalue() + "".join(f"warning: {w.category.__name__}: {w.message}\n" for w in caught)
    return {"stdout": clip(text), "error": error, "result": None if error else result}


def serve():
    """The judge's loop: JSON lines in on stdin, out on the file descriptor that was stdout."""
    import torch
    torch.set_num_threads(1)  # as in the kernel: the same references, bit for bit
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else written to stdout (a C library, say) goes to the log, not the protocol

    def send(message):
        out.write(json.dumps(message) + "\n")
        out.flush()

    def ask(request):
        send(request)
        reply = json.loads(sys.stdin.readline() or '{"op": "abort"}')
        if reply.get("op") == "abort":
            raise KernelStopped(reply.get("why", "the kernel stopped"))
        try:
            return json.loads(reply["payload"]) if "payload" in reply else reply
        except (ValueError, RecursionError):
            return {"kind": "none", "why": "its answer was not valid JSON"}

    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = run_test_cell(request["source"], ask)
        except KernelStopped as stop:
            result = {"stdout": "", "error": None, "stopped": str(stop)}
        except RecursionError:
            result = {"stdout": "", "error": {"ename": "NotData", "evalue": "data nested too deep", "traceback": []}}
        except MemoryError:  # past MEMORY where the verdict itself could not be made: still a failed test
            result = {"stdout": "", "error": {"ename": "MemoryError", "traceback": [], "evalue":
                                              f"the test needed more than the judge's {MEMORY // 2**30} GiB"}}
        send(dict(result, op="done"))


# The limit is set first, before anything is imported: it binds the judge and nothing else.
BOOT = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2); "
        "sys.path[:0] = sys.argv[2:]; from grading.judge import serve; serve()")


# --- the host: nbgrader's process, between the judge and the kernel ------------------------------------

class JudgeFailed(RuntimeError):
    """The judge process itself failed or ran past its time: the instructor's tests, not the student."""


class Judge:
    """The judge process of one notebook. `run(source, kernel)` judges one test cell.

    kernel(code) runs code in the student's kernel and returns (the bridge's JSON reply or None, the
    text the student's code printed meanwhile); it raises what nbclient raises when the kernel dies.
    """

    def __init__(self, timeout=600, secret=""):
        import course
        import grading
        paths = dict.fromkeys(str(Path(m.__file__).resolve().parents[1]) for m in (course, grading))
        self.folder = tempfile.TemporaryDirectory(prefix="judge-")
        self.log = open(Path(self.folder.name) / "judge.log", "w+")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.folder.name, "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        if secret:  # the course's secret, for the hidden tests' data (course.testing.hidden_seed): the judge's alone
            env[SECRET_VARIABLE] = secret
        work = Path(self.folder.name) / "work"
        work.mkdir()
        self.process = subprocess.Popen([sys.executable, "-I", "-c", BOOT, str(MEMORY), *paths], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, cwd=work, env=env, text=True)
        self.timeout = timeout

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()
        self.folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, message):
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def _receive(self):
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            self.log.seek(0)
            why = "ran past its time limit" if not ready else "stopped"
            raise JudgeFailed(f"the judge {why} ({self.timeout} s): {self.log.read()[-2000:]}")
        return json.loads(line)

    @staticmethod
    def request(message):
        """The code that asks the kernel's bridge what the judge's message asks (grading.kernel_bridge)."""
        name, op = str(message["name"]), message["op"]
        if op == "call":
            return f"__grading__.call({int(message['handle'])!r}, {str(message['payload'])!r})"
        if op == "bind":
            return f"__grading__.bind({name!r}, {str(message['payload'])!r})"
        if op in ("lookup", "delete"):
            return f"__grading__.{op}({name!r})"
        raise JudgeFailed(f"the judge asked for an unknown operation {op!r}")

    def run(self, source, kernel):
        """Judge one test cell: {"stdout", "error", "printed"}; re-raises what `kernel` raised, if it did."""
        self._send({"source": source})
        printed, raised = [], None
        while True:
            message = self._receive()
            if message["op"] == "done":
                break
            if raised is not None:
                self._send({"op": "abort", "why": "the kernel stopped"})
                continue
            code = self.request(message)
            try:
                reply, text = kernel(code)
            except Exception as err:  # DeadKernelError, CellTimeoutError: GuardedExecute stops the notebook
                raised = err
                self._send({"op": "abort", "why": str(err)})
                continue
            if text and not message.get("hidden"):  # a hidden line's call leaves no trace
                printed.append(f"({message['name']} printed, in the notebook's kernel:)\n{text}")
            self._send({"op": "reply", "payload": reply} if reply is not None
                       else {"op": "reply", "kind": "none", "why": "the kernel sent no answer"})
        if raised is not None:
            raise raised
        return dict(message, printed=clip("".join(printed)))
