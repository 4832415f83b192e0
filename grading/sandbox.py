"""A bubblewrap sandbox for the grading kernel, written as a Jupyter kernelspec.

The kernel of one submission sees: the interpreter and the virtual environment (read-only), the
`course` package (read-only), its own submission folder (its files read-only, room to write beside
them in memory), the kernel's connection file and socket folder, and a private /tmp. It has no
network, no other process, no capabilities, and an address-space cap. Every path comes from this machine's own
interpreter, never from a constant, and every path the interpreter is started by exists inside as it does outside:
a venv that is a symbolic link (`.venv -> /srv/venvs/x`), or that lives outside the course, is bound where it
really is and its links are made again inside (interpreter_paths).
"""
import json
import os
import shutil
import site
import socket
import subprocess
import sys
from pathlib import Path

import course

KERNEL_NAME = "vi-stars-sandbox"
# torch needs ~0.8 GB of address space and the whole notebook peaks near 1.5 GB; 3 GiB leaves room
# for an honest notebook and refuses a 4 GB allocation.
MEMORY_LIMIT = 3 * 2**30
# No file the kernel writes may pass this size, nor may all it writes in its folder, /tmp or /dev/shm
# (each is memory of this size at most): no submission can fill the grading machine's disk.
FILE_LIMIT = 256 * 2**20


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start on this machine; the message says what failed."""


class BubblewrapMissing(SandboxUnavailable):
    """bubblewrap itself is not installed: the one case where installing it is the fix."""


# The course package graded with is bound here, and found first on the kernel's PYTHONPATH: the kernel
# imports the same `course` as the grader (the one in the course folder being graded), wherever that
# folder lives and whichever folder the venv's editable install points at.
COURSE_LIB = "/opt/vi-stars"
# bubblewrap's system binds (system_binds) already hold these; links through them need nothing more
SYSTEM = tuple(Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"))
MAX_LINKS = 40  # as the kernel's own limit on links in one lookup: past it, a loop


def resolve_through(path):
    """([(link, its target as written)], the real path): every symbolic link `path` passes through, in order,
    and where it ends. Path.resolve() gives only the end; the sandbox needs each link on the way too, since
    the interpreter is started by (and reports, in sys.prefix) the path with the links in it."""
    links, real, parts = [], Path("/"), list(Path(os.path.abspath(path)).parts[1:])
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":  # `real` has no link left in it, so its parent is the physical one
            real = real.parent
            continue
        step = real / part
        if not step.is_symlink():
            real = step
            continue
        target = os.readlink(step)
        links.append((step, target))
        if len(links) > MAX_LINKS:
            raise SandboxUnavailable(f"{path} resolves through more than {MAX_LINKS} symbolic links (a loop?)")
        parts = list(Path(target).parts) + parts
        if os.path.isabs(target):
            real, parts = Path("/"), parts[1:]
    return links, real


def outermost(paths):
    """The paths not inside another one of them: a folder inside another is already bound by its parent."""
    paths = set(paths)
    return sorted(p for p in paths if not any(q != p and q in p.parents for q in paths))


def shared_libraries():
    """The folders the venv's .pth files name (a venv sharing another install's libraries, as deploy/hub's students'
    environment may): the kernel imports from them too. Lines that run code (`import ...`) name no folder."""
    found = []
    for site_dir in site.getsitepackages():
        for pth in sorted(Path(site_dir).glob("*.pth")):
            for line in pth.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")) and Path(site_dir, line).is_dir():
                    found.append(str(Path(site_dir, line)))
    return found


def interpreter_paths():
    """(real folders to bind read-only, {link: target} to make inside) for the kernel's interpreter and venv.

    The interpreter is started by sys.executable and finds its venv at sys.prefix, both as written (through
    any link, say a `.venv` linked to a venv elsewhere); its files are where those paths resolve to. Both must
    exist inside: the real folders are bound, and each link on the way that no bound folder holds is made again.
    """
    starts = {sys.executable, sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *shared_libraries()}
    links, reals = {}, set()
    for start in starts:
        chain, real = resolve_through(start)
        links.update(chain)
        reals.add(real)
    # the real interpreter file is inside the real base prefix, bound as a folder, unless it lives elsewhere
    roots = outermost(reals)
    covered = [*roots, *SYSTEM]
    missing = {link: target for link, target in links.items()
               if not any(link == c or c in link.parents for c in covered)}
    return roots, missing


def system_binds():
    """/usr and the top-level links into it (/lib, /bin on merged-usr systems), and the loader cache."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def bwrap_argv(work_dir, ipc_dir, staged=None, memory_limit=MEMORY_LIMIT, user=None):
    """The command prefix that runs a program in the sandbox, with `work_dir` its working folder.

    Inside, work_dir is a fresh folder in memory (FILE_LIMIT at most) holding what the folder `staged` holds (the
    submission as grading.preflight staged it: its notebooks and the files beside them, folders included), bound
    read-only: code can read its submission and write beside it, and whatever it writes is gone when the kernel
    ends, so no submission can fill the grading machine's disk. Bound from `staged`, which the grader wrote, so
    that the kernel sees exactly what was checked, whatever else appears in work_dir outside.

    ipc_dir holds the kernel's connection file and ZMQ sockets (grading.execute.GuardedExecute.ipc_dir).

    user: None, or (uid, processes): the program runs as that unprivileged uid, held to that many processes
    (RLIMIT_NPROC, which binds any uid but root): grading.limits.UserLimits, where cgroups are not writable.
    bubblewrap then makes no user namespace (its only user would be root) and keeps the right to change uid,
    which the program drops for good (setpriv, no new privileges) before anything of the submission runs.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise BubblewrapMissing("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    # bwrap itself starts with an empty environment: inside, it is PID 1, and /proc/1/environ shows its own
    env_tool = shutil.which("env") or "/usr/bin/env"
    if user is None:
        args = [env_tool, "-i", bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        writable = []  # tmpfs folders: bwrap's default mode, for its own user
    else:
        args = [env_tool, "-i", bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        writable = ["--perms", "1777"]  # the submission's user writes there
    args += ["--clearenv"]
    # the fresh mounts first: a later --tmpfs /tmp would hide a venv or course that lives under /tmp
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(FILE_LIMIT), *writable, "--tmpfs", "/tmp", "--size", str(FILE_LIMIT), *writable, "--tmpfs", "/dev/shm"]
    args += system_binds()
    roots, links = interpreter_paths()
    if user is not None:  # the folders above the binds and links, traversable (bwrap copies /root's 0700, say)
        bound = [*roots, *links, Path(COURSE_LIB) / "course", Path(ipc_dir), Path(work_dir)]
        mounted = {"/", "/tmp", "/dev", "/dev/shm", "/proc"}  # --dir would reset their modes
        for folder in sorted({str(p) for b in bound for p in Path(b).parents} - mounted, key=len):
            args += ["--perms", "0755", "--dir", folder]
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    # after the binds: a link's folder may lie inside one (then bwrap makes only the link). Read-only, as
    # everything outside the binds is once the root is remounted.
    for link, target in sorted(links.items()):
        args += ["--symlink", target, str(link)]
    args += ["--ro-bind", str(Path(course.__file__).resolve().parent), f"{COURSE_LIB}/course"]
    args += ["--bind", str(ipc_dir), str(ipc_dir)]
    args += ["--size", str(FILE_LIMIT), *writable, "--tmpfs", str(work_dir)]
    for entry in sorted(Path(staged).iterdir()) if staged is not None else ():
        args += ["--ro-bind", str(entry), str(Path(work_dir) / entry.name)]
    args += ["--chdir", str(work_dir)]
    args += ["--remount-ro", "/"]  # the sandbox's own root: nothing outside the binds is writable
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "HOME": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": COURSE_LIB,
        "OMP_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
        "NBGRADER_EXECUTION": "autograde",
    }
    for key, value in env.items():
        args += ["--setenv", key, value]
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    args += ["--"]
    if user is not None:
        uid, processes = user
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        args += [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
        return args + [prlimit, f"--as={memory_limit}", f"--fsize={FILE_LIMIT}", f"--nproc={processes}", "--"]
    return args + [prlimit, f"--as={memory_limit}", f"--fsize={FILE_LIMIT}", "--"]


def write_kernelspec(jupyter_path, work_dir, ipc_dir, staged=None, wrap=None, user=None):
    """Write the sandboxed kernelspec under `jupyter_path`/kernels/; returns its name.

    wrap: a function of the command line that returns the one to run (grading.limits.Limits.wrap), or None.
    user: see bwrap_argv.
    """
    argv = bwrap_argv(work_dir, ipc_dir, staged, user=user) + [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {
        "argv": wrap(argv) if wrap else argv,
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # a signal would reach bwrap, not the kernel: ask the kernel itself to interrupt
        "interrupt_mode": "message",
    }
    folder = Path(jupyter_path) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return KERNEL_NAME


def check(scratch):
    """Run a trivial command in the sandbox; raise SandboxUnavailable with bwrap's own words if it fails."""
    scratch = Path(scratch)
    for name in ("work", "ipc"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    argv = bwrap_argv(scratch / "work", scratch / "ipc")
    run = subprocess.run(argv + [sys.executable, "-c", "import torch, course; print(course.__file__)"],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        roots, links = interpreter_paths()
        made = "".join(f", {link} -> {target}" for link, target in sorted(links.items()))
        raise SandboxUnavailable(f"the grading sandbox could not start {sys.executable}, a Python that imports torch "
                                 f"and course (bound read-only: {', '.join(map(str, roots))}{made}; course bound from "
                                 f"{Path(course.__file__).resolve().parent}): {run.stderr.strip()[-800:]}")
    if not run.stdout.strip().startswith(f"{COURSE_LIB}/course/"):
        raise SandboxUnavailable(f"the grading sandbox imports course from {run.stdout.strip()}, not from "
                                 f"{Path(course.__file__).resolve().parent}")
    with socket.create_server(("127.0.0.1", 0)) as listener:  # the sandbox must not reach this machine's ports
        probe = f"import socket; socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), timeout=2)"
        net = subprocess.run(argv + [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    if net.returncode == 0:
        raise SandboxUnavailable("the grading sandbox can reach this machine's network; refusing to grade in it")
