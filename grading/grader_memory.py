"""A memory limit of its own for the grading process of each submission: the `nbgrader autograde` process.

That process runs outside the sandbox, as the grader, and receives every message the submission's kernel sends:
a kernel can send them faster than they are read (they queue here, in ZMQ's receive buffers) and each is decoded
here in full before any cap on outputs or replies applies. The kernel's own limits (the sandbox's address-space cap,
its memory cgroup) do not hold this process, so each one runs under an address-space limit of its own (`prlimit
--as`). Past it an allocation in that process fails (a MemoryError, or libzmq aborting): that submission's grading
ends with an error that says so, and the batch goes on with the others.

The limit is a soft one (the hard limit is left as it was): the processes this one starts inherit it, and each
sets its own, above it, as it does now (the kernel's sandbox its 3 GiB, the judge its 4 GiB).
"""
import shutil

DEFAULT_MIB = 2048  # 1.9x the honest grading process's peak: 1,099 MiB of address space on vi_stars (benchmarks.grader_memory)
MIN_MIB = 1024      # below this an honest notebook's grading process cannot start (torch and nbgrader imported)
# what a process that ran out of address space leaves at the end of its log
SIGNS = ("MemoryError", "std::bad_alloc", "Out of memory", "Cannot allocate memory", "out of memory")


def parse(text):
    """A limit in MiB from the command line or GRADER_MEMORY=; ValueError saying what is allowed."""
    try:
        mib = int(str(text).strip())
    except ValueError:
        mib = None
    if mib is None or mib < MIN_MIB:
        raise ValueError(f"the grader's memory (--grader-memory, GRADER_MEMORY=) must be a whole number of MiB, at "
                         f"least {MIN_MIB}, got {text!r}")
    return mib


def command(argv, mib=DEFAULT_MIB):
    """`argv` run with a soft address-space limit of `mib` MiB."""
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    return [prlimit, f"--as={mib * 2**20}:", "--", *argv]


def ran_out(code, log_tail):
    """Whether a grading process that exited with `code` (negative: killed by that signal) stopped for want of
    memory, by what its log ends with."""
    return code not in (0, None) and any(sign in log_tail for sign in SIGNS)


def why(mib):
    """The report's reason for a submission whose grading process ran out of memory."""
    return (f"its grading process ran past its memory limit of {mib} MiB (GRADER_MEMORY): the submission's kernel "
            "sent more than the grader holds for one notebook")
