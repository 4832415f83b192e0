"""nbgrader's Execute preprocessor, made to judge test cells outside the kernel and to always finish.

- Test cells (nbgrader's graded code cells) are not sent to the student's kernel: grading.judge runs
  them in a separate Python, and the kernel only answers the judge's requests for the notebook's names
  and for calls of its functions (grading.kernel_bridge), as data. Every other cell runs in the kernel.
- Outputs are capped in bytes as they arrive, whatever their type: OUTPUT_LIMIT for one output,
  CELL_LIMIT for a cell, NOTEBOOK_LIMIT for the notebook; past a cap the cell says where output was cut.
  (nbgrader's LimitOutput trims only by lines: one long line, or display data, passed it whole.)
  Updates of a display (update_display_data) count as outputs too. Only the bridge's replies are
  exempt, and only while a test cell's request runs: there they count against REPLY_LIMIT instead;
  in any other cell an output of the bridge's type is dropped.
- No single ZMQ frame from the kernel may pass MESSAGE_LIMIT: libzmq refuses it before reading it, and
  closes the connection for good; the run then stops at that cell with a note saying why.
- A test cell's requests to the kernel share one time budget: the cell timeout, for all of them.
- A kernel that dies (`os._exit`, a crash, the memory cap) or that ignores the interrupt sent when a
  cell runs past its timeout leaves nbgrader's own Execute with an exception, and the student with no
  grade at all. Here the run stops at that cell instead: the cell and every code cell after it get an
  error output that says why, so their tests score 0, and every test that ran before keeps its points.
"""
import json
import os
import time
from pathlib import Path

import zmq
import zmq.asyncio
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from grading import judge
from grading.cells import is_test_cell
from grading.kernel_bridge import MIME

STOPPED = "GradingStopped"  # the ename of the error output written where the run stopped
# characters of the bridge's answers to one request; the largest honest one (the lab's StarData) is ~21 kB
REPLY_LIMIT = 8 * 2**20
# bytes of one ZMQ frame from the kernel, received whole before any cap applies. A frame past it stops the run,
# so it sits well above what a careless but honest cell sends in one message (a print of a long list, say,
# which OUTPUT_LIMIT then cuts) and above a reply of REPLY_LIMIT JSON-escaped once more.
MESSAGE_LIMIT = 64 * 2**20
OUTPUT_LIMIT = 2**20        # bytes of one output, of any type
CELL_LIMIT = 4 * 2**20      # bytes of all the outputs of one cell
NOTEBOOK_LIMIT = 16 * 2**20  # bytes of all the outputs of a notebook
# Sent to the kernel before each test cell: the data format, then the bridge, which binds __grading__.
BRIDGE = "\n".join(Path(__file__).with_name(name).read_text() for name in ("wire.py", "kernel_bridge.py"))
INSTALL = f"exec(compile({BRIDGE!r}, '<grading bridge>', 'exec'), {{'__name__': '__grading__'}})"


def stopped_output(reason):
    return new_output("error", ename=STOPPED, evalue=reason, traceback=[f"{STOPPED}: {reason}"])


class MessageTooLarge(Exception):
    """The kernel sent a ZMQ frame larger than MESSAGE_LIMIT: libzmq dropped the connection, for good."""


class BudgetSpent(Exception):
    """A test cell's requests to the kernel took its whole time budget: the next one is not sent."""


class GuardedExecute(Execute):
    # after a timeout the kernel is interrupted; an honest kernel answers within seconds
    iopub_timeout = Integer(10).tag(config=True)
    ipc_dir = Unicode("", help="an absolute folder for the kernel's connection file and ZMQ unix sockets: "
                      "a kernel in its own network namespace cannot use TCP").tag(config=True)
    judge_timeout = Integer(600, help="seconds the judge may compute between two answers of the kernel").tag(config=True)
    stops_file = Unicode("", help="a file the run appends to, one JSON line per stop: where and why the run stopped. "
                         "grading.batch reads it: an error output in the notebook could be the student's own").tag(config=True)
    secret_file = Unicode("", help="a file holding the course's secret for the hidden tests' data (grading.batch "
                          "keeps it beside the gradebook); given to the judge only, never to the kernel").tag(config=True)
    # Widgets are not graded, and the grader mimics no frontend: widget state is not kept in the notebook
    store_widget_state = Bool(False).tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.ipc_dir:
            km.transport, km.ip = "ipc", os.path.join(self.ipc_dir, "kernel")
            km.connection_file = os.path.join(self.ipc_dir, "connection.json")
        # nbclient's kernel client makes its own ZMQ context: give it one whose sockets refuse large frames
        self.context = zmq.asyncio.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_LIMIT)
        plain_client = km.client
        km.client = lambda **kwargs: plain_client(**dict(kwargs, context=self.context))
        return km

    def preprocess(self, nb, resources=None, km=None):
        self.stopped, self.monitors = None, None
        self.cell_bytes, self.notebook_bytes, self.cut = {}, 0, set()
        self.judging, self.reply_chars, self.judge_display_ids, self.deadline = False, 0, set(), None
        try:
            secret = open(self.secret_file).read().strip() if self.secret_file else ""
            with judge.Judge(self.judge_timeout, secret) as self.judge:  # starts while the kernel starts
                return super().preprocess(nb, resources, km)
        finally:
            for monitor, _ in self.monitors or ():
                monitor.close(linger=0)
            if getattr(self, "context", None) is not None:
                self.context.destroy(linger=0)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Drop every comm message from the kernel. nbclient would keep a widget's state (of any size) in the
        notebook's metadata and divert what an Output widget captures into it, past the output caps; here such
        output reaches its cell as ordinary output, under the caps."""

    def _watch_connections(self):
        """Monitors of the client's sockets, made before the first cell runs: a frame past MESSAGE_LIMIT shows
        there as a disconnection (libzmq drops the connection without reading the frame, and never reconnects)."""
        if self.monitors is None:
            self.monitors = []
            for channel in (self.kc.iopub_channel, self.kc.shell_channel):
                monitor = channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
                # polled from synchronous code; the asyncio socket is kept too: it owns the libzmq socket
                self.monitors.append((monitor, zmq.Socket.shadow(monitor.underlying)))

    async def _kernel_alive(self):
        return await ensure_async(self.km.is_alive())

    def _check_connections(self):
        """Raise MessageTooLarge if the client lost its connection to a kernel that is still alive."""
        if any(shadow.poll(0) for _, shadow in self.monitors or ()) and run_sync(self._kernel_alive)():
            raise MessageTooLarge(f"the kernel sent a message larger than {MESSAGE_LIMIT // 2**20} MiB (or closed "
                                  "its connection): the grader cannot hear it any more")

    def _stop(self, cell, index, why, later):
        """Stop the run at this cell: its error output says why, later code cells say `later`; recorded out of band."""
        self.stopped = later
        cell.outputs.append(stopped_output(why))
        if self.stops_file:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            with open(self.stops_file, "a") as file:
                file.write(json.dumps({"cell": grade_id, "why": why}) + "\n")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self.stopped:
            cell.outputs = [stopped_output(f"not run: {self.stopped}")]
            return cell, resources
        self._watch_connections()
        try:
            if is_test_cell(cell):
                cell = self.judge_cell(cell, index)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
            self._check_connections()
        except (DeadKernelError, CellTimeoutError, MessageTooLarge) as err:
            if isinstance(err, CellTimeoutError):  # a reply that never came may be a dropped connection: say so
                try:
                    self._check_connections()
                except MessageTooLarge as dropped:
                    err = dropped
            if isinstance(err, MessageTooLarge):
                self._stop(cell, index, f"{err}: the run stopped at this cell",
                           f"the kernel sent a message larger than {MESSAGE_LIMIT // 2**20} MiB in an earlier cell")
            elif isinstance(err, DeadKernelError):
                self._stop(cell, index, "the kernel died while running this cell (os._exit, a crash, or the memory or process limit)",
                           "the kernel died in an earlier cell (os._exit, a crash, or the memory or process limit)")
            else:
                self._stop(cell, index, f"this cell ran past {self.timeout} s and ignored the interrupt; the kernel was stopped",
                           "an earlier cell ran past the time limit and ignored the interrupt")
        return cell, resources

    def _admit(self, outs, cell_index, size):
        """Count `size` bytes of output against the caps; False (and a note in the cell, once) past one."""
        used = self.cell_bytes.get(cell_index, 0)
        if size > OUTPUT_LIMIT or used + size > CELL_LIMIT or self.notebook_bytes + size > NOTEBOOK_LIMIT:
            if cell_index not in self.cut:
                self.cut.add(cell_index)
                outs.append(new_output("stream", name="stdout", text=(
                    f"\n[output cut here by the grader: outputs are limited to {OUTPUT_LIMIT // 2**20} MiB each, "
                    f"{CELL_LIMIT // 2**20} MiB per cell and {NOTEBOOK_LIMIT // 2**20} MiB per notebook]\n")))
            return False
        self.cell_bytes[cell_index] = used + size
        self.notebook_bytes += size
        return True

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handler, with every output counted against the caps before it is kept."""
        content = msg.get("content", {})
        if self.judging and display_id:  # a display made while a test runs is never updated in the notebook
            self.judge_display_ids.add(display_id)
            display_id = None
        data = content.get("data")
        size = len(json.dumps(content, default=str))
        if self.judging:  # every byte the kernel sends while a test's request runs counts against that request
            self.reply_chars += size
        if isinstance(data, dict) and MIME in data:
            if not self.judging:  # only a request of a test cell is answered: elsewhere it is a student's output
                return None
            value = data[MIME]
            if self.reply_chars > REPLY_LIMIT or not isinstance(value, str):  # never kept: in_kernel says it was refused
                self.reply_chars = max(self.reply_chars, REPLY_LIMIT + 1)
                return None
            # the bridge's entry only: whatever else the message carried is not kept
            msg = dict(msg, content=dict(content, data={MIME: value}, metadata={}, transient={}))
            return super().output(outs, msg, display_id, cell_index)
        if self.judging and self.reply_chars > REPLY_LIMIT:
            return None
        if not self._admit(outs, cell_index, size):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        """An update of an earlier display: capped like an output; never from, nor of, a display of a test's run."""
        if self.judging or display_id in self.judge_display_ids or display_id not in self._display_id_map:
            return None
        size = len(json.dumps(msg.get("content", {}), default=str))
        for cell_index in self._display_id_map[display_id]:
            if not self._admit(self.nb.cells[cell_index].outputs, cell_index, size):
                return None
        return super()._update_display_id(display_id, msg)

    def _get_timeout(self, cell):
        """The cell timeout, or what is left of the test cell's budget while a test runs."""
        timeout = super()._get_timeout(cell)
        if self.judging and self.deadline is not None:
            left = max(1, int(self.deadline - time.monotonic() + 0.999))
            return left if timeout is None else min(timeout, left)
        return timeout

    def _check_budget(self):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BudgetSpent(f"this test cell's requests to the notebook took more than its time limit of "
                              f"{self.timeout} s in all; the rest of the test was not run")

    def in_kernel(self, code, index):
        """Run `code` in the kernel, off the record; (the bridge's reply or None, what else it printed)."""
        self._check_budget()
        cell, scratch = self.nb.cells[index], new_code_cell(code)
        self.judging, self.reply_chars = True, 0
        try:
            self.execute_cell(scratch, index, store_history=False)
        finally:
            self.judging = False
            self.nb.cells[index] = cell  # nbclient puts the cell it ran at `index`
        self._check_connections()
        self._check_budget()  # a call the budget's end interrupted fails as a timeout, not as its KeyboardInterrupt
        replies = [out.data[MIME] for out in scratch.outputs if out.output_type == "display_data" and MIME in out.get("data", {})]
        printed = "".join(out.get("text", "") for out in scratch.outputs if out.output_type == "stream")
        errors = [out for out in scratch.outputs if out.output_type == "error"]
        if not replies and errors:
            printed += f"{errors[-1].ename}: {errors[-1].evalue}\n"
        reply = replies[-1] if replies and isinstance(replies[-1], str) else None
        if self.reply_chars > REPLY_LIMIT:
            reply, printed = None, printed + (f"(answers of {self.reply_chars:,} characters or more were refused: "
                                              f"the limit is {REPLY_LIMIT:,})\n")
        return reply, judge.clip(printed)

    @staticmethod
    def result_output(text, cell):
        """The test's last value as nbgrader reads it: a number is partial credit, and one above the cell's points
        fails the test (stock nbgrader stops grading the submission there)."""
        points = float(cell.metadata.get("nbgrader", {}).get("points", 0) or 0)
        try:
            credit = float(text)
        except ValueError:
            credit = None
        if credit is not None and credit > points:
            why = f"the test's result, {credit}, is more than its {points:g} points"
            return new_output("error", ename="ValueError", evalue=why, traceback=[f"ValueError: {why}"])
        return new_output("execute_result", data={"text/plain": text}, metadata={}, execution_count=None)

    def judge_cell(self, cell, index):
        """Judge a test cell outside the kernel; its outputs say what the test printed and why it failed."""
        self.deadline = time.monotonic() + self.timeout if self.timeout and self.timeout > 0 else None
        try:
            self.in_kernel(INSTALL, index)
            verdict = self.judge.run(cell.source, lambda code: self.in_kernel(code, index))
        except BudgetSpent as err:
            verdict = {"stdout": "", "printed": "", "error": {"ename": "TimeoutError", "evalue": str(err),
                                                                "traceback": [f"TimeoutError: {err}"]}}
        finally:
            self.deadline = None
        outputs = []
        text = verdict["stdout"] + verdict["printed"]
        if text:
            outputs.append(new_output("stream", name="stdout", text=text))
        if verdict.get("stopped"):
            outputs.append(stopped_output(verdict["stopped"]))
        elif verdict["error"]:
            outputs.append(new_output("error", **verdict["error"]))
        elif isinstance(verdict.get("result"), str):
            outputs.append(self.result_output(verdict["result"], cell))
        cell.outputs, cell.execution_count = outputs, None
        return cell
