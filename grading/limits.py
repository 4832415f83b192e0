"""Per-submission limits on processes, memory and CPU, enforced by the kernel's cgroups (v1).

A sandboxed kernel can fork and allocate like any program: `prlimit --as` caps each process's address
space, not a submission's, and RLIMIT_NPROC does not bind root. So each graded notebook's kernel is put
in a child group of its own, one per controller, before bubblewrap starts:

    pids:    at most PROCESSES tasks (threads count): a fork bomb stops there
    memory:  at most MEMORY bytes for all its processes together: past it the kernel's OOM killer ends one
    cpu:     at most one core's worth of time: a submission busy on every core slows no other job

Where these controllers are not mounted or not writable, `Limits.available()` is False and the batch says so
in its report's first line (the address-space and file-size caps of grading.sandbox still hold).
"""
import os
import signal
import time
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PROCESSES = 256                  # tasks (processes and threads); the notebook uses about 30
MEMORY = 4 * 2**30               # bytes; the notebook peaks near 1.5 GB
CPU_PERIOD, CPU_QUOTA = 100_000, 100_000  # one core


class Limits:
    """The cgroups of one graded notebook: create, wrap the kernel's command line, read what was hit, remove."""

    def __init__(self, name, root=CGROUP):
        self.groups = {c: Path(root) / c / "vi-stars-grading" / name for c in ("pids", "memory", "cpu")}

    @staticmethod
    def available(root=CGROUP):
        """Whether this process can create child groups in the pids, memory and cpu controllers."""
        probe = Limits(f"probe-{os.getpid()}", root)
        try:
            probe.create()
        except OSError:
            return False
        finally:
            probe.remove()
        return True

    def create(self):
        for group in self.groups.values():
            group.mkdir(parents=True, exist_ok=True)
        (self.groups["pids"] / "pids.max").write_text(str(PROCESSES))
        (self.groups["memory"] / "memory.limit_in_bytes").write_text(str(MEMORY))
        memsw = self.groups["memory"] / "memory.memsw.limit_in_bytes"
        if memsw.exists():  # no swapping past the limit either
            memsw.write_text(str(MEMORY))
        (self.groups["cpu"] / "cpu.cfs_period_us").write_text(str(CPU_PERIOD))
        (self.groups["cpu"] / "cpu.cfs_quota_us").write_text(str(CPU_QUOTA))
        return self

    def wrap(self, argv):
        """`argv`, started from a shell that first moves itself into the groups (its children inherit them)."""
        script = 'for g in "$1" "$2" "$3"; do echo $$ > "$g/cgroup.procs" || exit 97; done; shift 3; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *(str(g) for g in self.groups.values()), *argv]

    def hit(self):
        """What the notebook ran into, for the report: [] or e.g. ["the process limit (256)"]."""
        found = []
        events = self.groups["pids"] / "pids.events"
        if events.exists() and any(line.split()[-1] != "0" for line in events.read_text().splitlines()):
            found.append(f"the process limit ({PROCESSES})")
        memory = self.groups["memory"]
        counts = [(memory / "memory.failcnt").read_text().strip()] if (memory / "memory.failcnt").exists() else []
        if (memory / "memory.oom_control").exists():  # "oom_kill N": processes the OOM killer ended in this group
            counts += [line.split()[-1] for line in (memory / "memory.oom_control").read_text().splitlines()
                       if line.startswith("oom_kill ")]
        if any(c not in ("", "0") for c in counts):
            found.append(f"the memory limit ({MEMORY / 2**30:g} GiB)")
        return found

    def remove(self):
        """Kill whatever is still in the groups, then remove them."""
        for group in self.groups.values():
            if not group.exists():
                continue
            for _ in range(50):
                procs = (group / "cgroup.procs").read_text().split()
                if not procs:
                    break
                for pid in procs:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
            try:
                group.rmdir()
            except OSError:
                pass
