"""nbgrader's Execute preprocessor, made to judge test cells outside the kernel and to always finish.

- Test cells (nbgrader's graded code cells) are not sent to the student's kernel: grading.judge runs
  them in a separate Python, and the kernel only answers the judge's requests for the notebook's names
  and for calls of its functions (grading.kernel_bridge), as data. Every other cell runs in the kernel.
- Outputs are capped in bytes as they arrive, whatever their type: OUTPUT_LIMIT for one output,
  CELL_LIMIT for a cell, NOTEBOOK_LIMIT for the notebook; past a cap the cell says where output was cut.
  (nbgrader's LimitOutput trims only by lines: one long line, or display data, passed it whole.)
- A kernel that dies (`os._exit`, a crash, the memory cap) or that ignores the interrupt sent when a
  cell runs past its timeout leaves nbgrader's own Execute with an exception, and the student with no
  grade at all. Here the run stops at that cell instead: the cell and every code cell after it get an
  error output that says why, so their tests score 0, and every test that ran before keeps its points.
"""
import json
import os
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from grading import judge
from grading.feedback import is_test_cell
from grading.kernel_bridge import MIME

STOPPED = "GradingStopped"  # the ename of the error output written where the run stopped
REPLY_LIMIT = 64 * 2**20  # characters of one answer from the kernel; a larger one is refused
OUTPUT_LIMIT = 2**20        # bytes of one output, of any type
CELL_LIMIT = 4 * 2**20      # bytes of all the outputs of one cell
NOTEBOOK_LIMIT = 16 * 2**20  # bytes of all the outputs of a notebook
# Sent to the kernel before each test cell: the data format, then the bridge, which binds __grading__.
BRIDGE = "\n".join(Path(__file__).with_name(name).read_text() for name in ("wire.py", "kernel_bridge.py"))
INSTALL = f"exec(compile({BRIDGE!r}, '<grading bridge>', 'exec'), {{'__name__': '__grading__'}})"


def stopped_output(reason):
    return new_output("error", ename=STOPPED, evalue=reason, traceback=[f"{STOPPED}: {reason}"])


class GuardedExecute(Execute):
    # after a timeout the kernel is interrupted; an honest kernel answers within seconds
    iopub_timeout = Integer(10).tag(config=True)
    ipc_dir = Unicode("", help="an absolute folder for the kernel's connection file and ZMQ unix sockets: "
                      "a kernel in its own network namespace cannot use TCP").tag(config=True)
    judge_timeout = Integer(600, help="seconds the judge may compute between two answers of the kernel").tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.ipc_dir:
            km.transport, km.ip = "ipc", os.path.join(self.ipc_dir, "kernel")
            km.connection_file = os.path.join(self.ipc_dir, "connection.json")
        return km

    def preprocess(self, nb, resources=None, km=None):
        self.stopped = None
        self.cell_bytes, self.notebook_bytes, self.cut = {}, 0, set()
        with judge.Judge(self.judge_timeout) as self.judge:  # starts while the kernel starts
            return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self.stopped:
            cell.outputs = [stopped_output(f"not run: {self.stopped}")]
            return cell, resources
        try:
            if is_test_cell(cell):
                return self.judge_cell(cell, index), resources
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.stopped = "the kernel died in an earlier cell (os._exit, a crash or the memory limit)"
            cell.outputs.append(stopped_output("the kernel died while running this cell (os._exit, a crash or the memory limit)"))
        except CellTimeoutError:
            self.stopped = "an earlier cell ran past the time limit and ignored the interrupt"
            cell.outputs.append(stopped_output(f"this cell ran past {self.timeout} s and ignored the interrupt; the kernel was stopped"))
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handler, with every output counted against the caps before it is kept."""
        content = msg.get("content", {})
        if MIME in content.get("data", {}):  # an answer to the judge: never stored; REPLY_LIMIT caps it
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(content, default=str))
        used = self.cell_bytes.get(cell_index, 0)
        if size > OUTPUT_LIMIT or used + size > CELL_LIMIT or self.notebook_bytes + size > NOTEBOOK_LIMIT:
            if cell_index not in self.cut:
                self.cut.add(cell_index)
                outs.append(new_output("stream", name="stdout", text=(
                    f"\n[output cut here by the grader: outputs are limited to {OUTPUT_LIMIT // 2**20} MiB each, "
                    f"{CELL_LIMIT // 2**20} MiB per cell and {NOTEBOOK_LIMIT // 2**20} MiB per notebook]\n")))
            return None
        self.cell_bytes[cell_index] = used + size
        self.notebook_bytes += size
        return super().output(outs, msg, display_id, cell_index)

    def in_kernel(self, code, index):
        """Run `code` in the kernel, off the record; (the bridge's reply or None, what else it printed)."""
        cell, scratch = self.nb.cells[index], new_code_cell(code)
        try:
            self.execute_cell(scratch, index, store_history=False)
        finally:
            self.nb.cells[index] = cell  # nbclient puts the cell it ran at `index`
        replies = [out.data[MIME] for out in scratch.outputs if out.output_type == "display_data" and MIME in out.get("data", {})]
        printed = "".join(out.get("text", "") for out in scratch.outputs if out.output_type == "stream")
        errors = [out for out in scratch.outputs if out.output_type == "error"]
        if not replies and errors:
            printed += f"{errors[-1].ename}: {errors[-1].evalue}\n"
        reply = replies[-1] if replies and isinstance(replies[-1], str) else None
        if reply is not None and len(reply) > REPLY_LIMIT:
            reply, printed = None, printed + f"(an answer of {len(reply):,} characters was refused: the limit is {REPLY_LIMIT:,})\n"
        return reply, judge.clip(printed)

    def judge_cell(self, cell, index):
        """Judge a test cell outside the kernel; its outputs say what the test printed and why it failed."""
        self.in_kernel(INSTALL, index)
        verdict = self.judge.run(cell.source, lambda code: self.in_kernel(code, index))
        outputs = []
        text = verdict["stdout"] + verdict["printed"]
        if text:
            outputs.append(new_output("stream", name="stdout", text=text))
        if verdict.get("stopped"):
            outputs.append(stopped_output(verdict["stopped"]))
        elif verdict["error"]:
            outputs.append(new_output("error", **verdict["error"]))
        cell.outputs, cell.execution_count = outputs, None
        return cell
