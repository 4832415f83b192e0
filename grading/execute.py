"""nbgrader's Execute preprocessor, made to always finish a notebook.

A kernel that dies (`os._exit`, a crash, the memory cap) or that ignores the interrupt sent when a
cell runs past its timeout leaves nbgrader's own Execute with an exception, and the student with no
grade at all. Here the run stops at that cell instead: the cell and every code cell after it get an
error output that says why, so their tests score 0, and every test that ran before keeps its points.
"""
import os

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

STOPPED = "GradingStopped"  # the ename of the error output written where the run stopped


def stopped_output(reason):
    return new_output("error", ename=STOPPED, evalue=reason, traceback=[f"{STOPPED}: {reason}"])


class GuardedExecute(Execute):
    # after a timeout the kernel is interrupted; an honest kernel answers within seconds
    iopub_timeout = Integer(10).tag(config=True)
    ipc_dir = Unicode("", help="an absolute folder for the kernel's connection file and ZMQ unix sockets: "
                      "a kernel in its own network namespace cannot use TCP").tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.ipc_dir:
            km.transport, km.ip = "ipc", os.path.join(self.ipc_dir, "kernel")
            km.connection_file = os.path.join(self.ipc_dir, "connection.json")
        return km

    def preprocess(self, nb, resources=None, km=None):
        self.stopped = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self.stopped:
            cell.outputs = [stopped_output(f"not run: {self.stopped}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.stopped = "the kernel died in an earlier cell (os._exit, a crash or the memory limit)"
            cell.outputs.append(stopped_output("the kernel died while running this cell (os._exit, a crash or the memory limit)"))
        except CellTimeoutError:
            self.stopped = "an earlier cell ran past the time limit and ignored the interrupt"
            cell.outputs.append(stopped_output(f"this cell ran past {self.timeout} s and ignored the interrupt; the kernel was stopped"))
        return cell, resources
