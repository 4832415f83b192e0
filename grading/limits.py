"""Per-submission limits on processes, memory and CPU, enforced by the kernel's cgroups (v1).

A sandboxed kernel can fork and allocate like any program: `prlimit --as` caps each process's address
space, not a submission's, and RLIMIT_NPROC does not bind root. So each graded notebook's kernel is put
in a child group of its own, one per controller, before bubblewrap starts:

    pids:    at most PROCESSES tasks (threads count): a fork bomb stops there
    memory:  at most MEMORY bytes for all its processes together: past it the kernel's OOM killer ends one
    cpu:     at most one core's worth of time: a submission busy on every core slows no other job

Where these controllers are not mounted or not writable, `Limits.available()` is False. Then, when the grader
runs as root, `UserLimits` is the fallback: each kernel runs as an unprivileged user of its own (a uid of
UID_BASE and up that no account has, free of processes), held to PROCESSES by RLIMIT_NPROC; there is no
per-submission memory or CPU limit then. Where neither is possible, there are no per-submission limits. The
batch's report says which in its first line (the address-space and file-size caps of grading.sandbox always
hold). GRADING_LIMITS=cgroups|uids|none in the environment forces a choice (`choose`), e.g. to test the fallback.
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PROCESSES = 256                  # tasks (processes and threads); the notebook uses about 30
MEMORY = 4 * 2**30               # bytes; the notebook peaks near 1.5 GB
CPU_PERIOD, CPU_QUOTA = 100_000, 100_000  # one core
UID_BASE, UIDS = 60000, 5000     # the fallback's users: no account has these on Debian-like systems
KINDS = ("cgroups", "uids", "none")


def choose(root=CGROUP):
    """How submissions are limited here: "cgroups", "uids" (the fallback) or "none"; GRADING_LIMITS forces one."""
    forced = os.environ.get("GRADING_LIMITS", "")
    if forced:
        if forced not in KINDS:
            raise ValueError(f"GRADING_LIMITS must be one of {', '.join(KINDS)}, got {forced!r}")
        return forced
    if Limits.available(root):
        return "cgroups"
    return "uids" if UserLimits.available() else "none"


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

    def _forks_refused(self):
        events = self.groups["pids"] / "pids.events"
        return events.exists() and any(line.split()[-1] != "0" for line in events.read_text().splitlines())

    def hit(self):
        """What the notebook ran into, for the report: [] or e.g. ["the process limit (256)"]."""
        found = []
        if self._forks_refused():
            found.append(f"the process limit ({PROCESSES})")
        memory = self.groups["memory"]
        counts = [(memory / "memory.failcnt").read_text().strip()] if (memory / "memory.failcnt").exists() else []
        if (memory / "memory.oom_control").exists():  # "oom_kill N": processes the OOM killer ended in this group
            counts += [line.split()[-1] for line in (memory / "memory.oom_control").read_text().splitlines()
                       if line.startswith("oom_kill ")]
        if any(c not in ("", "0") for c in counts):
            found.append(f"the memory limit ({MEMORY / 2**30:g} GiB)")
        return found

    def exhausted(self):
        """Whether a fork was refused at the process limit (no honest notebook comes near it)."""
        return self._forks_refused()

    def kill(self):
        """Kill whatever is in the groups (the kernel too)."""
        if (self.groups["pids"] / "pids.max").exists():  # a fork bomb forks as it is killed: no more forks first
            (self.groups["pids"] / "pids.max").write_text("0")
        for group in self.groups.values():
            if group.exists():
                _kill_until_gone(lambda: [int(pid) for pid in (group / "cgroup.procs").read_text().split()])

    def remove(self):
        """Kill whatever is still in the groups, then remove them (once what was killed is reaped, 5 s at most)."""
        self.kill()
        for group in self.groups.values():
            _wait_until(lambda: not group.exists() or not (group / "cgroup.procs").read_text().split())
            try:
                group.rmdir()
            except OSError:
                pass


def _wait_until(done, seconds=5):
    """Poll `done()` every 0.1 s until it is true, `seconds` at most."""
    for _ in range(int(seconds * 10)):
        if done():
            return
        time.sleep(0.1)


def _kill_until_gone(pids, seconds=5):
    """SIGKILL every live process `pids()` lists, again and again, until none is left (`seconds` at most)."""
    def gone():
        live = [pid for pid in pids() if _alive(pid)]
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return not live
    _wait_until(gone, seconds)


def _alive(pid):
    """Whether process `pid` still runs: a killed one stays listed (a zombie) until its parent, often PID 1 once
    its sandbox is gone, reaps it; there is nothing more to kill."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _pids_of(uid):
    """The processes whose real uid is `uid`."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                pids.append(int(entry.name))
        except OSError:  # ended meanwhile
            pass
    return pids


class UserLimits:
    """The fallback's limits of one graded notebook: a user of its own, held to PROCESSES processes.

    create() claims a uid; the kernel's sandbox (grading.sandbox.bwrap_argv with user=self.user) drops to it;
    wrap() first hands it the folders the kernel writes to (its sockets, its connection file); remove() ends
    whatever still runs as that uid and frees it.
    """
    _lock, _claimed = threading.Lock(), set()

    def __init__(self, writable=()):
        self.writable, self.uid, self.reached = [str(w) for w in writable], None, False

    @staticmethod
    def available():
        return os.geteuid() == 0 and all(shutil.which(tool) for tool in ("setpriv", "prlimit", "chown"))

    @property
    def user(self):
        return (self.uid, PROCESSES)

    def create(self):
        with UserLimits._lock:
            for uid in range(UID_BASE, UID_BASE + UIDS):
                if uid in UserLimits._claimed or _pids_of(uid):
                    continue
                try:
                    pwd.getpwuid(uid)
                    continue  # an account's
                except KeyError:
                    UserLimits._claimed.add(uid)
                    self.uid = uid
                    return self
        raise OSError(f"no free uid in {UID_BASE}-{UID_BASE + UIDS - 1}")

    def wrap(self, argv):
        """`argv`, started from a shell that first gives the kernel's folders to its user."""
        script = 'uid="$1"; n="$2"; shift 2; for d in $(seq "$n"); do chown -R "$uid:$uid" "$1" || exit 97; shift; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", str(self.uid), str(len(self.writable)), *self.writable, *argv]

    def hit(self):
        return [f"the process limit ({PROCESSES})"] if self.reached else []

    def exhausted(self):
        """Whether the user's processes came near the limit (RLIMIT_NPROC keeps no count of refused forks;
        threads count too, so a few less than PROCESSES)."""
        if self.uid is not None and len(_pids_of(self.uid)) >= PROCESSES - 16:
            self.reached = True
        return self.reached

    def kill(self):
        """Kill every process of the user: kill(-1, SIGKILL) sent as that user reaches them all at once, so a
        fork bomb cannot fork faster than it is killed; then whatever is left, by pid."""
        if self.uid is None:
            return
        if _pids_of(self.uid):
            setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
            subprocess.run([setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--",
                            sys.executable, "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"], check=False)
        _kill_until_gone(lambda: _pids_of(self.uid))

    def remove(self):
        self.kill()
        _wait_until(lambda: not _pids_of(self.uid))  # a uid is free again once what was killed is reaped
        with UserLimits._lock:
            UserLimits._claimed.discard(self.uid)
        self.uid = None
