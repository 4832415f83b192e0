"""The secrets the hidden tests draw their data from (course.testing.hidden_seed): one per course, one per submission.

The course's secret is random, kept beside the gradebook and readable by the instructor alone. What reaches the
judge for one submission is not that secret but a key made from it and from everything the submission holds:

    key = HMAC-SHA256(course secret, assignment, student, the submission's files: names and bytes)

So every submission meets hidden cases of its own. A student's function can keep the arguments a hidden test
called it with and print them from a later cell, into the feedback; the cases it learns are those of that
submission only. A table of them, written into a new submission (or a classmate's), changes the files, hence
the key, hence the cases it meets. A re-grade of the same submission meets the same cases and gets the same
scores; each grading host of one course needs the same course secret, as it needs the same gradebook.
"""
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = "hidden-tests.secret"


def course_secret(root):
    """The path of the course's secret, made on first use: random, mode 0600, beside the gradebook; never
    released, committed, or bound into a sandbox."""
    path = Path(root) / SECRET_FILE
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_hex(32) + "\n")
    except FileExistsError:
        pass
    return path.resolve()


def submission_key(secret, assignment, student, folder):
    """The hex key of one submission's hidden cases: HMAC-SHA256 under the course's `secret` (a str) of the
    assignment, the student and every regular file below `folder` (its path relative to `folder`, then its
    bytes, in path order). Symlinks are not followed (preflight stages none)."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for part in (assignment, student):
        mac.update(len(part.encode()).to_bytes(8, "big") + part.encode())
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) if folder.is_dir() else []
    for path in files:
        name = path.relative_to(folder).as_posix().encode()
        data = path.read_bytes()
        # lengths first: no two different submissions give the same stream of bytes
        mac.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return mac.hexdigest()


def write_submission_key(secret_file, assignment, student, folder, dest):
    """Write `dest` (mode 0600): the submission's key (submission_key) under the course secret in `secret_file`;
    returns its path. The judge reads it; the kernel never sees it."""
    secret = Path(secret_file).read_text().strip()
    if not secret:
        raise ValueError(f"the course secret {secret_file} is empty: delete it and `make grade` makes a new one")
    dest = Path(dest)
    with os.fdopen(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(submission_key(secret, assignment, student, folder) + "\n")
    return dest
